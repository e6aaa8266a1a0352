//! The seed framework's sections: what a strategy made from the `seed` template starts with.

use serde::Serialize;

use crate::Stage;

/// One section a new strategy starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionTemplate {
    /// A stable identifier of the template item (`political_will`…); never renamed, so
    /// indicators and exports can refer to it across strategies.
    pub key: &'static str,
    /// The stage the section belongs to.
    pub stage: Stage,
    /// Its place in the strategy, 0-based, in reading order across stages.
    pub position: u32,
    /// The English title.
    pub title_en: &'static str,
    /// The Spanish title (the seed's own words where it has them).
    pub title_es: &'static str,
}

impl SectionTemplate {
    /// The title in `locale`; Portuguese falls back to Spanish for now.
    pub fn title(&self, locale: crate::Locale) -> &'static str {
        match locale {
            crate::Locale::En => self.title_en,
            crate::Locale::Es | crate::Locale::Pt => self.title_es,
        }
    }
}

const SEED: &[(&str, Stage, &str, &str)] = &[
    // Design and planning (diseño y planeación).
    ("political_will", Stage::DesignPlanning, "Political will and commitments", "Voluntad política y compromisos"),
    ("development_objectives", Stage::DesignPlanning, "Development objectives, kept apart from internationalisation objectives", "Objetivos de desarrollo, diferenciados de los de internacionalización"),
    ("actor_map", Stage::DesignPlanning, "Actor map: who can contribute, who benefits", "Mapa de actores: quiénes pueden contribuir, quiénes se benefician"),
    ("budget_share", Stage::DesignPlanning, "Share of the municipal budget for international action", "Porcentaje del presupuesto municipal para la acción internacional"),
    ("situational_awareness", Stage::DesignPlanning, "Situational awareness and international trends", "Conciencia situacional y tendencias internacionales"),
    ("planning_tool", Stage::DesignPlanning, "Choice of the planning tool", "Selección de la herramienta de planificación"),
    ("strengths_vision_agenda", Stage::DesignPlanning, "Strengths, vision and thematic agenda", "Fortalezas: visión y agenda temática"),
    ("internationalisation_objectives", Stage::DesignPlanning, "Internationalisation objectives", "Objetivos de internacionalización"),
    ("benchmarks", Stage::DesignPlanning, "Benchmarks: other cities' good practices", "Referentes de otras ciudades y buenas prácticas"),
    ("risks_challenges", Stage::DesignPlanning, "Risks and challenges", "Riesgos y desafíos"),
    // Implementation (implementación).
    ("thematic_areas", Stage::Implementation, "Prioritised thematic areas", "Áreas temáticas priorizadas"),
    ("consultation_communication", Stage::Implementation, "Consultation and communication", "Consulta y comunicación"),
    ("institutional_capacities", Stage::Implementation, "Institutional capacities", "Capacidades institucionales"),
    ("operational_capacities", Stage::Implementation, "Operational capacities", "Capacidades operativas"),
    ("human_capacities", Stage::Implementation, "Human capacities", "Capacidades de los recursos humanos"),
    // Evaluation (evaluación).
    ("evaluation_why", Stage::Evaluation, "Why measure", "¿Para qué medir?"),
    ("evaluation_what", Stage::Evaluation, "What to measure: office, local government, territory", "¿Qué medir? Oficina, gobierno local, territorio"),
    ("evaluation_how", Stage::Evaluation, "How to measure", "¿Cómo medir?"),
    ("evaluation_with_whom", Stage::Evaluation, "With whom to measure", "¿Con quién medir?"),
];

/// The sections of the seed framework (the Medellín workshop's three stages), in order.
///
/// Invariant: keys are unique and stable; positions are 0, 1, 2… in order; stages never go
/// backwards.
pub fn seed_template() -> Vec<SectionTemplate> {
    SEED.iter()
        .enumerate()
        .map(|(position, &(key, stage, title_en, title_es))| SectionTemplate {
            key,
            stage,
            position: position as u32,
            title_en,
            title_es,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seed_template_covers_the_three_stages_in_order() {
        let template = seed_template();
        let keys: HashSet<_> = template.iter().map(|s| s.key).collect();
        assert_eq!(keys.len(), template.len(), "keys are unique");
        let count = |stage| template.iter().filter(|s| s.stage == stage).count();
        assert_eq!(count(Stage::DesignPlanning), 10);
        assert_eq!(count(Stage::Implementation), 5);
        assert_eq!(count(Stage::Evaluation), 4);
        for (i, (section, next)) in template.iter().zip(template.iter().skip(1)).enumerate() {
            assert_eq!(section.position as usize, i);
            assert!(section.stage <= next.stage, "stages never go backwards");
        }
        assert!(template.iter().all(|s| !s.title_en.is_empty() && !s.title_es.is_empty()));
    }
}
