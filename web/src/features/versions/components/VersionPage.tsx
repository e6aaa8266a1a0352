import { useState } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { useQuery } from "@tanstack/react-query"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { api } from "../../../lib/api"
import { useMe } from "../../../lib/me"
import type { Section, Strategy } from "../../../lib/strategy"
import { useSectionDiff } from "../api/diff"
import { useVersion, type VersionSection } from "../api/versions"
import { SectionAtHeads } from "./SectionAtHeads"
import { DiffView } from "./DiffView"

/** A named version, read-only: each section as it was, and what changed since. */
export function VersionPage() {
  const { t } = useTranslation()
  const { strategyId = "", versionId = "" } = useParams()
  const me = useMe()
  const strategy = useQuery({ queryKey: ["strategies", strategyId], queryFn: () => api<Strategy>("GET", `/api/strategies/${strategyId}`) })
  const version = useVersion(versionId)
  if (strategy.isPending || version.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  if (version.isError) return <ErrorMessage error={version.error} />
  const byId = new Map(strategy.data.sections.map((s) => [s.id, s]))
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        <Link to={`/strategies/${strategyId}`}>{strategy.data.title}</Link>
        <span aria-hidden="true"> / </span>
        <Link to={`/strategies/${strategyId}/versions`}>{t("versions.title")}</Link>
      </nav>
      <h1>{t("versions.versionTitle", { name: version.data.name })}</h1>
      <p className="read-only-note">{t("versions.readOnly")}</p>
      {version.data.sections.map((entry) => {
        const section = byId.get(entry.section_id)
        if (!section) return null
        return <VersionSectionView key={entry.section_id} entry={entry} section={section} version={versionId} user={me.data?.id} />
      })}
    </>
  )
}

function VersionSectionView({ entry, section, version, user }: { entry: VersionSection; section: Section; version: string; user?: string }) {
  const { t } = useTranslation()
  const [showDiff, setShowDiff] = useState(false)
  const diff = useSectionDiff(section.id, version, showDiff)
  const headingId = `version-section-${section.id}`
  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{section.title}</h2>
      <SectionAtHeads user={user} url={entry.doc_url} heads={entry.heads} label={t("versions.textAt", { title: section.title })} />
      <button type="button" aria-expanded={showDiff} onClick={() => setShowDiff(!showDiff)}>
        {showDiff ? t("versions.hideChanges") : t("versions.showChanges", { title: section.title })}
      </button>
      {showDiff &&
        (diff.isPending ? (
          <Loading />
        ) : diff.isError ? (
          <ErrorMessage error={diff.error} />
        ) : diff.data.changed ? (
          <DiffView ops={diff.data.ops} label={t("versions.changesIn", { title: section.title })} />
        ) : (
          <p>{t("versions.unchanged")}</p>
        ))}
    </section>
  )
}
