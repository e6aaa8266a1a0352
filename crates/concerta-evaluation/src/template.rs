//! The seed framework's evaluation templates (`DOMAIN.md`): the indicator table at three
//! levels, the capacities checklist, and the baseline questionnaire's default questions
//! (the capacities and the five support factors).
//!
//! Keys are stable identifiers (never renamed): a city's indicators, capacities and
//! questions keep the key of the template item they were made from.

use crate::{CapacityGroup, Direction, Frequency, Level, QuestionKind, Text, Unit};

/// One indicator of the seed's table, ready to be made a city's indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorTemplate {
    /// Stable key (`office_commitments`…).
    pub key: &'static str,
    /// The short code it gets in a framework (`ORI-1`, `GOB-2`, `TER-3`).
    pub code: &'static str,
    /// Level.
    pub level: Level,
    /// Name.
    pub name: Text,
    /// What it measures.
    pub definition: Text,
    /// How it is calculated.
    pub method: Text,
    /// Kind of number.
    pub unit: Unit,
    /// What is counted (shown after values).
    pub unit_label: Text,
    /// Which way is progress.
    pub direction: Direction,
    /// How often.
    pub frequency: Frequency,
    /// Where the data comes from.
    pub data_source: Text,
    /// The strategy sections (template keys) it measures.
    pub sections: &'static [&'static str],
    /// SDG goals or targets it contributes to.
    pub sdg: &'static [&'static str],
}

type Row = (
    &'static str,
    &'static str,
    Level,
    [&'static str; 3],
    [&'static str; 3],
    [&'static str; 3],
    Unit,
    [&'static str; 3],
    &'static [&'static str],
    &'static [&'static str],
);

// (key, code, level, name [es, en, pt], definition, method, unit, unit label, sections, SDG)
#[rustfmt::skip]
const INDICATORS: &[Row] = &[
    ("office_commitments", "ORI-1", Level::Office,
     ["Compromisos de gestión", "Management commitments", "Compromissos de gestão"],
     ["Compromisos de acción internacional asumidos formalmente por la autoridad.", "International action commitments formally made by the city's authority.", "Compromissos de ação internacional assumidos formalmente pela autoridade."],
     ["Número de compromisos vigentes firmados en el periodo.", "Number of commitments in force signed in the period.", "Número de compromissos vigentes assinados no período."],
     Unit::Count, ["compromisos", "commitments", "compromissos"], &["political_will"], &["16.6"]),
    ("office_training", "ORI-2", Level::Office,
     ["Formación del personal", "Training of staff", "Formação da equipe"],
     ["Personal de la oficina formado en relaciones internacionales y cooperación.", "Office staff trained in international relations and cooperation.", "Equipe do escritório formada em relações internacionais e cooperação."],
     ["Porcentaje del personal de la oficina con al menos una formación en el año.", "Share of the office's staff with at least one training in the year.", "Percentual da equipe do escritório com ao menos uma formação no ano."],
     Unit::Percent, ["% del personal", "% of staff", "% da equipe"], &["human_capacities"], &["17.9"]),
    ("office_knowledge", "ORI-3", Level::Office,
     ["Gestión del conocimiento e intercambio de buenas prácticas", "Knowledge management, exchange and adoption of good practices", "Gestão do conhecimento, intercâmbio e adoção de boas práticas"],
     ["Buenas prácticas de otras ciudades documentadas, intercambiadas o adoptadas.", "Other cities' good practices documented, exchanged or adopted.", "Boas práticas de outras cidades documentadas, intercambiadas ou adotadas."],
     ["Número de buenas prácticas adoptadas en el periodo.", "Number of good practices adopted in the period.", "Número de boas práticas adotadas no período."],
     Unit::Count, ["prácticas", "practices", "práticas"], &["benchmarks", "institutional_capacities"], &["17.6", "17.16"]),
    ("office_teams", "ORI-4", Level::Office,
     ["Equipos", "Teams", "Equipes"],
     ["Personas dedicadas a la acción internacional en la oficina.", "People working on international action in the office.", "Pessoas dedicadas à ação internacional no escritório."],
     ["Número de personas (equivalentes a tiempo completo) al cierre del periodo.", "Full-time equivalent staff at the end of the period.", "Pessoas em tempo integral equivalente ao fim do período."],
     Unit::Number, ["personas (ETC)", "staff (FTE)", "pessoas (ETI)"], &["human_capacities"], &["16.6"]),
    ("gov_alignment", "GOB-1", Level::LocalGovernment,
     ["Alineación con el plan de desarrollo (coherencia de políticas)", "Alignment with the development plan (policy coherence)", "Alinhamento com o plano de desenvolvimento (coerência de políticas)"],
     ["Objetivos de internacionalización vinculados a objetivos del plan de desarrollo.", "Internationalisation objectives linked to objectives of the development plan.", "Objetivos de internacionalização vinculados a objetivos do plano de desenvolvimento."],
     ["Porcentaje de objetivos de internacionalización con un objetivo del plan de desarrollo asociado.", "Share of internationalisation objectives tied to a development plan objective.", "Percentual de objetivos de internacionalização ligados a um objetivo do plano de desenvolvimento."],
     Unit::Percent, ["% de objetivos", "% of objectives", "% dos objetivos"], &["development_objectives", "internationalisation_objectives"], &["17.14"]),
    ("gov_facilitation", "GOB-2", Level::LocalGovernment,
     ["Facilitación de políticas con otras áreas", "Facilitating policy with other areas", "Facilitação de políticas com outras áreas"],
     ["Iniciativas de otras áreas de gobierno apoyadas por la oficina.", "Initiatives of other government areas supported by the office.", "Iniciativas de outras áreas de governo apoiadas pelo escritório."],
     ["Número de iniciativas apoyadas en el periodo.", "Number of initiatives supported in the period.", "Número de iniciativas apoiadas no período."],
     Unit::Count, ["iniciativas", "initiatives", "iniciativas"], &["actor_map", "thematic_areas"], &["17.14"]),
    ("gov_transversality", "GOB-3", Level::LocalGovernment,
     ["Transversalidad", "Transversality", "Transversalidade"],
     ["Áreas de gobierno que incluyen una dimensión internacional en su planificación.", "Government areas whose plans include an international dimension.", "Áreas de governo cujo planejamento inclui uma dimensão internacional."],
     ["Porcentaje de áreas de gobierno con acciones internacionales en su plan anual.", "Share of government areas with international actions in their annual plan.", "Percentual de áreas de governo com ações internacionais no plano anual."],
     Unit::Percent, ["% de áreas", "% of areas", "% das áreas"], &["thematic_areas"], &["17.14"]),
    ("gov_budget_share", "GOB-4", Level::LocalGovernment,
     ["% del presupuesto municipal para la acción internacional", "% of the municipal budget for international action", "% do orçamento municipal para a ação internacional"],
     ["Parte del presupuesto municipal asignada a la acción internacional.", "Share of the municipal budget allocated to international action.", "Parcela do orçamento municipal destinada à ação internacional."],
     ["Presupuesto ejecutado de acción internacional / presupuesto municipal total × 100.", "International action budget spent / total municipal budget × 100.", "Orçamento executado de ação internacional / orçamento municipal total × 100."],
     Unit::Percent, ["% del presupuesto", "% of budget", "% do orçamento"], &["budget_share", "operational_capacities"], &["17.1"]),
    ("ter_impact", "TER-1", Level::Territory,
     ["Impacto de la gestión", "Impact of management", "Impacto da gestão"],
     ["Proyectos internacionales con resultados verificados en el territorio.", "International projects with verified results in the territory.", "Projetos internacionais com resultados verificados no território."],
     ["Número de proyectos cerrados con informe de resultados en el periodo.", "Projects closed with a results report in the period.", "Projetos encerrados com relatório de resultados no período."],
     Unit::Count, ["proyectos", "projects", "projetos"], &["internationalisation_objectives"], &["11"]),
    ("ter_quality_of_life", "TER-2", Level::Territory,
     ["Calidad de vida de la ciudadanía", "Citizens' quality of life", "Qualidade de vida da cidadania"],
     ["Percepción ciudadana de la calidad de vida.", "Citizens' perceived quality of life.", "Percepção cidadã da qualidade de vida."],
     ["Porcentaje de personas encuestadas satisfechas con su calidad de vida.", "Share of people surveyed satisfied with their quality of life.", "Percentual de pessoas entrevistadas satisfeitas com sua qualidade de vida."],
     Unit::Percent, ["% satisfecho", "% satisfied", "% satisfeito"], &["development_objectives"], &["11.3", "11.7"]),
    ("ter_actors", "TER-3", Level::Territory,
     ["Vinculación de la acción internacional con los actores del territorio", "Linking international action with the territory's actors", "Vinculação da ação internacional com os atores do território"],
     ["Actores del territorio (academia, empresas, sociedad civil) en iniciativas internacionales.", "Actors of the territory (academia, business, civil society) in international initiatives.", "Atores do território (academia, empresas, sociedade civil) em iniciativas internacionais."],
     ["Número de actores que participan en al menos una iniciativa en el periodo.", "Actors taking part in at least one initiative in the period.", "Atores que participam de ao menos uma iniciativa no período."],
     Unit::Count, ["actores", "actors", "atores"], &["actor_map", "consultation_communication"], &["17.17"]),
    ("ter_fdi", "TER-4", Level::Territory,
     ["Volumen de inversión extranjera directa", "Volume of foreign direct investment", "Volume de investimento estrangeiro direto"],
     ["Inversión extranjera directa anunciada o registrada en la ciudad.", "Foreign direct investment announced or recorded in the city.", "Investimento estrangeiro direto anunciado ou registrado na cidade."],
     ["Suma de la inversión extranjera directa registrada en el año.", "Sum of foreign direct investment recorded in the year.", "Soma do investimento estrangeiro direto registrado no ano."],
     Unit::Currency, ["millones de USD", "USD millions", "milhões de USD"], &["thematic_areas"], &["17.3", "17.5"]),
    ("ter_influence", "TER-5", Level::Territory,
     ["Influencia del gobierno local en foros internacionales", "The local government's influence in international forums", "Influência do governo local em fóruns internacionais"],
     ["Posiciones y aportes de la ciudad en redes y foros internacionales.", "The city's positions and contributions in international networks and forums.", "Posições e contribuições da cidade em redes e fóruns internacionais."],
     ["Número de cargos, ponencias o declaraciones adoptadas en foros en el periodo.", "Offices held, talks given or statements adopted in forums in the period.", "Cargos, palestras ou declarações adotadas em fóruns no período."],
     Unit::Count, ["participaciones", "contributions", "participações"], &["situational_awareness", "operational_capacities"], &["16.8", "11.a"]),
    ("ter_cooperation", "TER-6", Level::Territory,
     ["Impacto de la cooperación", "Impact of cooperation", "Impacto da cooperação"],
     ["Recursos de cooperación internacional movilizados para la ciudad.", "International cooperation resources mobilised for the city.", "Recursos de cooperação internacional mobilizados para a cidade."],
     ["Suma de los fondos de cooperación recibidos o gestionados en el año.", "Sum of cooperation funds received or managed in the year.", "Soma dos recursos de cooperação recebidos ou geridos no ano."],
     Unit::Currency, ["miles de USD", "USD thousands", "milhares de USD"], &["operational_capacities"], &["17.9", "17.16"]),
    ("ter_learning", "TER-7", Level::Territory,
     ["Aprendizaje de los intercambios de experiencias", "Learning from exchanges of experience", "Aprendizado com os intercâmbios de experiências"],
     ["Intercambios de experiencias que dieron lugar a un cambio en una política local.", "Exchanges of experience that led to a change in a local policy.", "Intercâmbios de experiências que levaram a uma mudança em uma política local."],
     ["Número de cambios documentados en el periodo.", "Documented changes in the period.", "Mudanças documentadas no período."],
     Unit::Count, ["cambios", "changes", "mudanças"], &["benchmarks"], &["17.6"]),
    ("ter_global_agendas", "TER-8", Level::Territory,
     ["Contribución a las agendas globales (p. ej. los ODS)", "Contribution to global agendas (e.g. the SDGs)", "Contribuição às agendas globais (p. ex. os ODS)"],
     ["Metas de los ODS a las que contribuye al menos una acción internacional de la ciudad.", "SDG targets at least one of the city's international actions contributes to.", "Metas dos ODS para as quais contribui ao menos uma ação internacional da cidade."],
     ["Número de metas de los ODS con una acción vinculada y reportada.", "Number of SDG targets with a linked, reported action.", "Número de metas dos ODS com uma ação vinculada e reportada."],
     Unit::Count, ["metas ODS", "SDG targets", "metas ODS"], &["strengths_vision_agenda", "evaluation_what"], &["17.17", "11"]),
];

/// The seed's indicator table: four indicators for the office, four for the local
/// government, eight for the territory, all higher-is-better and annual by default.
pub fn indicators() -> Vec<IndicatorTemplate> {
    let text = |t: [&str; 3]| Text::new(t[0], t[1], t[2]);
    INDICATORS
        .iter()
        .map(|&(key, code, level, name, definition, method, unit, label, sections, sdg)| IndicatorTemplate {
            key,
            code,
            level,
            name: text(name),
            definition: text(definition),
            method: text(method),
            unit,
            unit_label: text(label),
            direction: Direction::HigherIsBetter,
            frequency: Frequency::Annual,
            data_source: match level {
                Level::Office => Text::new(
                    "Registros de la Oficina de Relaciones Internacionales",
                    "International Relations Office records",
                    "Registros do Escritório de Relações Internacionais",
                ),
                Level::LocalGovernment => Text::new(
                    "Planes y presupuestos del gobierno local",
                    "Local government plans and budgets",
                    "Planos e orçamentos do governo local",
                ),
                Level::Territory => Text::new(
                    "Estadísticas locales y registros de proyectos",
                    "Local statistics and project records",
                    "Estatísticas locais e registros de projetos",
                ),
            },
            sections,
            sdg,
        })
        .collect()
}

/// One capacity of the seed's checklist.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityTemplate {
    /// Stable key.
    pub key: &'static str,
    /// Its group.
    pub group: CapacityGroup,
    /// Its name.
    pub name: Text,
}

#[rustfmt::skip]
const CAPACITIES: &[(&str, CapacityGroup, [&str; 3])] = &[
    ("legal_framework", CapacityGroup::Institutional, ["Marco legal y su actualización", "Legal framework and its updating", "Marco legal e sua atualização"]),
    ("cofinancing_incentives", CapacityGroup::Institutional, ["Incentivos al cofinanciamiento", "Co-financing incentives", "Incentivos ao cofinanciamento"]),
    ("monitoring_infrastructure", CapacityGroup::Institutional, ["Infraestructura de seguimiento, evaluación y rendición de cuentas", "Monitoring, evaluation and accountability infrastructure", "Infraestrutura de monitoramento, avaliação e prestação de contas"]),
    ("knowledge_management", CapacityGroup::Institutional, ["Gestión del conocimiento", "Knowledge management", "Gestão do conhecimento"]),
    ("predictable_funding", CapacityGroup::Operational, ["Financiamiento previsible", "Predictable funding", "Financiamento previsível"]),
    ("public_private_alliances", CapacityGroup::Operational, ["Alianzas público-privadas", "Public-private alliances", "Alianças público-privadas"]),
    ("cooperation_programmes", CapacityGroup::Operational, ["Programas de cooperación", "Cooperation programmes", "Programas de cooperação"]),
    ("lobbying_advocacy", CapacityGroup::Operational, ["Cabildeo e incidencia", "Lobbying and advocacy", "Lobby e incidência"]),
    ("multistakeholder_dialogue", CapacityGroup::Operational, ["Convocatoria al diálogo multiactor", "Convening multi-stakeholder dialogue", "Convocação ao diálogo multiatores"]),
    ("training_international_relations", CapacityGroup::Human, ["Formación en relaciones internacionales", "Training in international relations", "Formação em relações internacionais"]),
    ("training_project_design", CapacityGroup::Human, ["Formación en diseño de proyectos de cooperación", "Training in cooperation project design", "Formação em elaboração de projetos de cooperação"]),
    ("training_economic_development", CapacityGroup::Human, ["Formación en desarrollo económico e innovación", "Training in economic development and innovation", "Formação em desenvolvimento econômico e inovação"]),
    ("foreign_languages", CapacityGroup::Human, ["Idiomas extranjeros", "Foreign languages", "Idiomas estrangeiros"]),
];

/// The template section each capacity group feeds (the implementation stage).
pub fn capacity_section(group: CapacityGroup) -> &'static str {
    match group {
        CapacityGroup::Institutional => "institutional_capacities",
        CapacityGroup::Operational => "operational_capacities",
        CapacityGroup::Human => "human_capacities",
    }
}

/// The seed's capacities: four institutional, five operational, four human.
pub fn capacities() -> Vec<CapacityTemplate> {
    CAPACITIES
        .iter()
        .map(|&(key, group, [es, en, pt])| CapacityTemplate { key, group, name: Text::new(es, en, pt) })
        .collect()
}

/// One question of the baseline questionnaire.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionTemplate {
    /// Stable key.
    pub key: &'static str,
    /// The heading it is listed under.
    pub group: Text,
    /// The question.
    pub text: Text,
    /// Its kind of answer.
    pub kind: QuestionKind,
}

#[rustfmt::skip]
const SUPPORT_FACTORS: &[(&str, [&str; 3])] = &[
    ("political_will", ["¿En qué medida existe voluntad política y compromisos de la autoridad con la acción internacional?", "How far does the authority show political will and commitments to international action?", "Em que medida existem vontade política e compromissos da autoridade com a ação internacional?"]),
    ("alliances", ["¿En qué medida hay alianzas internas y externas y mesas multiactor en funcionamiento?", "How far are internal and external alliances and multi-actor roundtables working?", "Em que medida há alianças internas e externas e mesas multiatores em funcionamento?"]),
    ("resources", ["¿En qué medida la acción internacional cuenta con recursos suficientes y previsibles?", "How far does international action have sufficient, predictable resources?", "Em que medida a ação internacional conta com recursos suficientes e previsíveis?"]),
    ("participation", ["¿En qué medida la ciudadanía participa en la acción internacional (ciudadanía global)?", "How far do citizens take part in international action (global citizenship)?", "Em que medida a cidadania participa da ação internacional (cidadania global)?"]),
    ("communication_evaluation", ["¿En qué medida se comunica, evalúa y rinde cuentas de la acción internacional?", "How far is international action communicated, evaluated and accounted for?", "Em que medida a ação internacional é comunicada, avaliada e objeto de prestação de contas?"]),
];

/// The default baseline questionnaire: each capacity of the seed (level 0–4), the five
/// support factors (level 0–4), and the share of the municipal budget for international
/// action (percent).
pub fn questions() -> Vec<QuestionTemplate> {
    let capacity_group = |g: CapacityGroup| match g {
        CapacityGroup::Institutional => Text::new("Capacidades institucionales", "Institutional capacities", "Capacidades institucionais"),
        CapacityGroup::Operational => Text::new("Capacidades operativas", "Operational capacities", "Capacidades operacionais"),
        CapacityGroup::Human => Text::new("Capacidades de los recursos humanos", "Human capacities", "Capacidades dos recursos humanos"),
    };
    let mut out: Vec<QuestionTemplate> = capacities()
        .into_iter()
        .map(|c| QuestionTemplate {
            key: c.key,
            group: capacity_group(c.group),
            text: Text {
                es: format!("Nivel de desarrollo: {}", c.name.es),
                en: format!("Level of development: {}", c.name.en),
                pt: format!("Nível de desenvolvimento: {}", c.name.pt),
            },
            kind: QuestionKind::Scale,
        })
        .collect();
    let factors = Text::new("Factores de apoyo", "Support factors", "Fatores de apoio");
    out.extend(SUPPORT_FACTORS.iter().map(|&(key, [es, en, pt])| QuestionTemplate {
        key,
        group: factors.clone(),
        text: Text::new(es, en, pt),
        kind: QuestionKind::Scale,
    }));
    out.push(QuestionTemplate {
        key: "budget_share",
        group: factors,
        text: Text::new(
            "Porcentaje del presupuesto municipal destinado a la acción internacional",
            "Share of the municipal budget for international action (%)",
            "Percentual do orçamento municipal destinado à ação internacional",
        ),
        kind: QuestionKind::Percent,
    });
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_seed_table_at_three_levels() {
        let all = indicators();
        let count = |level| all.iter().filter(|i| i.level == level).count();
        assert_eq!((count(Level::Office), count(Level::LocalGovernment), count(Level::Territory)), (4, 4, 8));
        let keys: HashSet<_> = all.iter().map(|i| i.key).collect();
        let codes: HashSet<_> = all.iter().map(|i| i.code).collect();
        assert_eq!((keys.len(), codes.len()), (all.len(), all.len()), "keys and codes are unique");
        let sections: HashSet<_> = concerta_core::seed_template().into_iter().map(|s| s.key).collect();
        for i in &all {
            for s in i.sections {
                assert!(sections.contains(s), "{}: unknown section {s}", i.key);
            }
            for code in i.sdg {
                assert!(crate::sdg::is_known(code), "{}: unknown SDG code {code}", i.key);
            }
            assert!(crate::validate::validate_code("code", i.code).is_ok());
        }
    }

    #[test]
    fn capacities_and_questions() {
        let caps = capacities();
        let count = |g| caps.iter().filter(|c| c.group == g).count();
        assert_eq!((count(CapacityGroup::Institutional), count(CapacityGroup::Operational), count(CapacityGroup::Human)), (4, 5, 4));
        let qs = questions();
        assert_eq!(qs.len(), caps.len() + 5 + 1);
        let keys: HashSet<_> = qs.iter().map(|q| q.key).collect();
        assert_eq!(keys.len(), qs.len());
        let sections: HashSet<_> = concerta_core::seed_template().into_iter().map(|s| s.key).collect();
        for g in CapacityGroup::ALL {
            assert!(sections.contains(capacity_section(*g)));
        }
    }
}
