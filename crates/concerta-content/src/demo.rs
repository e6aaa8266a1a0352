//! The demo city's strategy text, written as a city's International Relations Office would
//! write it, in Spanish, from the Medellín workshop's conclusions (the seed): one body per
//! seed section, then the drafts that follow the approved version, so the outline and the
//! diff have something to show.
//!
//! The texts are kept in a small line format (`## ` heading, `- ` bullet, two more spaces
//! per nesting level, `1. ` numbered item, `**bold**`, `*italic*`, anything else a
//! paragraph) read by [`blocks`]; it is for these fixed texts only, not for user input.

use crate::rich::{Block, BlockType, Inline, Marks};

/// The body of each seed section (by template key) when the demo strategy is made.
pub const INITIAL: &[(&str, &str)] = &[
    ("political_will", "\
## Compromiso del gobierno local
La **voluntad política** es el primer factor de apoyo para una acción internacional sostenible: el reconocimiento de su importancia estratégica y operativa por parte de la Alcaldía.
- Incluir la acción internacional en el plan de desarrollo municipal.
- Designar a la Oficina de Relaciones Internacionales (ORI) como coordinadora de la estrategia.
- Rendir cuentas cada año ante el Concejo Municipal."),
    ("development_objectives", "\
Diferenciamos **desde el principio** los objetivos de desarrollo de la ciudad de los objetivos de internacionalización: la acción internacional es un medio al servicio del desarrollo, no un fin en sí misma.
- Objetivos de desarrollo: los del plan de desarrollo municipal.
- Objetivos de internacionalización: cómo la acción exterior contribuye a cada uno de ellos."),
    ("actor_map", "\
¿Quiénes son las **fuerzas vivas** del territorio que pueden contribuir a una acción internacional de alto impacto, y quiénes se beneficiarán directamente de este esfuerzo?
## Coordinación interna
- Áreas de gobierno: Desarrollo Económico, Cultura, Ambiente.
- Empresas públicas y agencias municipales.
## Coordinación externa
- Academia: universidades y centros de investigación.
- Sector empresarial y cámaras de comercio.
- Sociedad civil organizada.
- Organismos internacionales, otras ciudades y redes (AL-LAs, UCCI)."),
    ("budget_share", "\
Porcentaje del presupuesto municipal dedicado a la acción internacional, y su evolución año a año.
- Presupuesto propio de la ORI.
- Contrapartidas para proyectos de cooperación.
- Fondos de las áreas destinados a actividades internacionales."),
    ("situational_awareness", "\
Una buena estrategia internacional debe ser a la vez **territorial y global**.
- ¿Cuál es el entorno internacional en el que la ciudad busca posicionarse?
- ¿Qué factores o tendencias internacionales constituyen la mayor oportunidad o el mayor riesgo en este momento?
- ¿Qué prioridades de la política exterior nacional podrían reforzarse desde lo local, haciendo uso de las fortalezas del territorio?"),
    ("planning_tool", "\
Seleccionaremos la herramienta de planificación que mejor se ajuste al contexto específico de la ciudad: no existe una receta única para garantizar la sostenibilidad."),
    ("strengths_vision_agenda", "\
## Visión
Una ciudad reconocida por la calidad de su cooperación y por aprender de otras ciudades.
## Agenda temática
- Desarrollo económico e innovación.
- Cultura y ciudadanía global.
- Ambiente y cambio climático."),
    ("internationalisation_objectives", "\
1. Atraer cooperación técnica y financiera alineada con el plan de desarrollo.
2. Posicionar a la ciudad en redes y foros internacionales.
3. Compartir y adaptar buenas prácticas con otras ciudades iberoamericanas."),
    ("benchmarks", "\
Estudiaremos los referentes de otras ciudades y adaptaremos sus buenas prácticas. El taller de Medellín reunió a Quito, Asunción, Rio de Janeiro, Brasilia, México, La Habana, Lima, Madrid, Montevideo y Buenos Aires."),
    ("risks_challenges", "\
Valoración de riesgos y desafíos:
- Cambios de gobierno que interrumpan los procesos.
- Financiación impredecible.
- Escasa apropiación por parte de las áreas de gobierno."),
    ("thematic_areas", "\
Para ser efectiva, la estrategia debe estar **focalizada** en áreas temáticas priorizadas, pero a la vez debe ser *multidimensional*."),
    ("consultation_communication", "\
Una estrategia de acción internacional debe ser participativa y visible: crearemos espacios de información, participación, consulta y concertación de calidad.
- Escenarios incluyentes.
- Mecanismos sostenibles.
- Instrumentos eficientes."),
    ("institutional_capacities", "\
- Marco jurídico claro para la acción internacional, actualizado a la realidad del contexto internacional.
- Mecanismos e incentivos que permitan esquemas de co-financiación y atraigan socios privados, mixtos y cooperantes.
- Infraestructura institucional para el monitoreo, la evaluación y la rendición de cuentas.
- Capacidades para gestionar el conocimiento, documentar buenas prácticas y aprender sobre la marcha."),
    ("operational_capacities", "\
- Fuentes de financiación predecibles, suficientes y adecuadas.
- Capacidad para construir alianzas público-privadas.
- Programas de cooperación efectivos, esquemas de intercambio y conocimiento.
- Cabildeo e incidencia.
- Convocatoria de sectores y grupos de interés a espacios de diálogo y consulta sobre temas internacionales."),
    ("human_capacities", "\
- Capacitación en relaciones internacionales.
- Formulación de proyectos de cooperación internacional y eficacia de la cooperación al desarrollo.
- Formación en desarrollo económico, competitividad e innovación.
- Competencias en lenguas extranjeras."),
    ("evaluation_why", "\
La información y la medición son elementos clave para la sostenibilidad de la acción internacional. Medimos:
- para mejorar;
- para tomar mejores decisiones;
- para aprender;
- para ser más transparentes;
- para medir el fracaso;
- para ponderar la importancia."),
    ("evaluation_what", "\
Medimos en tres niveles:
## Oficina de Relaciones Internacionales
- Compromisos de gestión.
- Formación de recursos humanos.
- Gestión del conocimiento e intercambio de buenas prácticas.
## Gobierno local
- Articulación con el plan de desarrollo (coherencia de políticas).
- Transversalidad.
- % del presupuesto municipal dedicado a la acción internacional.
## Territorio
- Calidad de vida de la ciudadanía.
- Volumen de inversión extranjera directa.
- Incidencia del gobierno local en espacios internacionales.
- Contribución a las agendas globales."),
    ("evaluation_how", "\
Pensamos la medición en términos de **procesos** más que de un conjunto de indicadores:
- métodos;
- formas de recolección de información;
- públicos objetivo;
- presentación de resultados."),
    ("evaluation_with_whom", "\
Identificaremos a los actores clave que deben vincularse a la medición, articulando las unidades de gobierno y los actores externos."),
];

/// Drafts made before the approved version (sections that grew after the first draft).
pub const BEFORE_APPROVAL: &[(&str, &str)] = &[
    ("actor_map", "\
¿Quiénes son las **fuerzas vivas** del territorio que pueden contribuir a una acción internacional de alto impacto, y quiénes se beneficiarán directamente de este esfuerzo?
## Coordinación interna
- Áreas de gobierno: Desarrollo Económico, Cultura, Ambiente.
  - Generación de empatías y coordinación con las áreas de gobierno.
- Empresas públicas y agencias municipales.
## Coordinación externa
- Academia: universidades y centros de investigación.
- Sector empresarial y cámaras de comercio.
- Sociedad civil organizada.
- Organismos internacionales, otras ciudades y redes (AL-LAs, UCCI).
Convocaremos **mesas multi-actor** para el diálogo y la construcción de agendas comunes."),
    ("planning_tool", "\
Seleccionaremos la herramienta de planificación que mejor se ajuste al contexto específico de la ciudad: no existe una receta única para garantizar la sostenibilidad, pero sí es posible delinear acciones estratégicas a partir de los elementos cruciales de cada momento."),
];

/// Drafts made after the approved version: what the outline shows as changed since.
pub const AFTER_APPROVAL: &[(&str, &str)] = &[
    ("political_will", "\
## Compromiso del gobierno local
La **voluntad política** es el primer factor de apoyo para una acción internacional sostenible: el reconocimiento de su importancia estratégica y operativa por parte de la Alcaldía y del Concejo.
- Incluir la acción internacional en el plan de desarrollo municipal.
- Designar a la Oficina de Relaciones Internacionales (ORI) como coordinadora de la estrategia.
- Rendir cuentas cada año ante el Concejo Municipal y publicar los resultados.
- Firmar un acuerdo municipal que dé continuidad a la estrategia más allá de cada gobierno."),
    ("budget_share", "\
Porcentaje del presupuesto municipal dedicado a la acción internacional, y su evolución año a año. Meta: **0,5 %** del presupuesto en 2030.
- Presupuesto propio de la ORI.
- Contrapartidas para proyectos de cooperación.
- Fondos de las áreas destinados a actividades internacionales."),
];

/// The blocks of a text in this module's line format.
pub fn blocks(text: &str) -> Vec<Block> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let line = line.trim_start();
            if let Some(rest) = line.strip_prefix("## ") {
                Block::new(BlockType::Heading(2), inlines(rest))
            } else if let Some(rest) = line.strip_prefix("- ") {
                Block::bullet(indent / 2, inlines(rest))
            } else if let Some((_, rest)) = line.split_once(". ").filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
                Block::numbered(inlines(rest))
            } else {
                Block::new(BlockType::Paragraph, inlines(line))
            }
        })
        .collect()
}

/// `**bold**` and `*italic*` runs.
fn inlines(text: &str) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut marks = Marks::default();
    let mut rest = text;
    while !rest.is_empty() {
        let (delim, strong) = if rest.starts_with("**") { (2, true) } else if rest.starts_with('*') { (1, false) } else { (0, false) };
        if delim > 0 {
            if strong {
                marks.strong = !marks.strong;
            } else {
                marks.em = !marks.em;
            }
            rest = &rest[delim..];
            continue;
        }
        let end = rest.find('*').unwrap_or(rest.len());
        out.push(Inline { text: rest[..end].to_owned(), marks: marks.clone() });
        rest = &rest[end..];
    }
    out
}

/// The body for template key `key` in `texts`, if it has one.
pub fn body_for(texts: &[(&str, &str)], key: &str) -> Option<Vec<Block>> {
    texts.iter().find(|(k, _)| *k == key).map(|(_, text)| blocks(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use concerta_core::seed_template;

    #[test]
    fn every_seed_section_has_a_text_and_the_later_drafts_name_real_sections() {
        let keys: Vec<&str> = seed_template().iter().map(|s| s.key).collect();
        for key in &keys {
            let body = body_for(INITIAL, key).unwrap_or_else(|| panic!("no demo text for {key}"));
            assert!(!body.is_empty());
        }
        for (key, _) in BEFORE_APPROVAL.iter().chain(AFTER_APPROVAL) {
            assert!(keys.contains(key), "{key}");
        }
    }

    #[test]
    fn the_line_format() {
        let b = blocks("## Título\nTexto con **negrita** y *cursiva*.\n- uno\n  - uno.a\n1. primero");
        assert_eq!(b[0], Block::heading(2, "Título"));
        assert_eq!(
            b[1].inlines,
            vec![Inline::plain("Texto con "), Inline::strong("negrita"), Inline::plain(" y "), Inline::em("cursiva"), Inline::plain(".")]
        );
        assert_eq!(b[2], Block::bullet(0, vec![Inline::plain("uno")]));
        assert_eq!(b[3], Block::bullet(1, vec![Inline::plain("uno.a")]));
        assert_eq!(b[4], Block::numbered(vec![Inline::plain("primero")]));
        // Bold and headings are there for the demo to show.
        let all: Vec<Block> = INITIAL.iter().flat_map(|(_, t)| blocks(t)).collect();
        assert!(all.iter().any(|b| matches!(b.kind, BlockType::Heading(_))));
        assert!(all.iter().any(|b| b.inlines.iter().any(|i| i.marks.strong)));
        assert!(all.iter().any(|b| b.kind == BlockType::NumberedItem));
    }
}
