import { counted } from './format';
import type { Options } from './options';
import type { ErasureDone, ErasureRun } from './runErasure';

/** The linkage part of an erasure's line: records removed, links cut. */
function linkageText(d: ErasureDone): string {
  const { records, accessionLinks } = d.linkage;
  const removed = `${counted(records, 'linkage record')} removed`;
  return accessionLinks
    ? `${removed}, ${counted(accessionLinks, 'accession link')} taken out of the records kept`
    : removed;
}

/** The series, studies and patients the erased instances were in. */
function within(p: ErasureDone['plan']) {
  return {
    series: p.series.length + (p.kept?.series.length ?? 0),
    studies: p.studies.length + (p.kept?.studies.length ?? 0),
    patients: p.patients.length + (p.kept?.patients.length ?? 0),
  };
}

/** One line saying what a run of an erasure did. */
export function erasureLine(d: ErasureDone): string {
  const p = d.plan;
  const series = within(p).series;
  // Series other instances still hold keep their rows (made again).
  const kept = p.kept?.series.length ?? 0;
  const keeps = kept ? `, ${kept} of them still holding other instances` : '';
  const objects = d.objectsAbsent
    ? `${counted(d.objectsDeleted, 'object')} deleted, ${d.objectsAbsent} already gone`
    : counted(d.objectsDeleted, 'object');
  const head = d.resumed
    ? `finished an interrupted erasure (${p.action}, begun ${p.begun}): `
    : '';
  const conflicts = d.quarantine.conflicts
    ? `, ${counted(d.quarantine.conflicts, 'conflict version')}`
    : '';
  // Shown when there were some: a stopped SCP's leftovers are rare.
  const spooled = d.spooled
    ? `, ${counted(d.spooled, 'spooled original')}`
    : '';
  const orphans = d.orphans
    ? `, ${counted(d.orphans, 'object')} no row named swept`
    : '';
  const { predictions, masks } = d.leftovers;
  const leftovers =
    predictions || masks
      ? `, ${counted(predictions, 'prediction row')} and ${counted(masks, 'mask file')} of instances erased before swept`
      : '';
  // Shown when there were some, as the leftovers are.
  const jobs = d.jobs.jobs
    ? `, ${counted(d.jobs.inputs, 'input')} taken out of ${counted(d.jobs.jobs, 'prediction job')}`
    : '';
  const parts = [
    `${head}erased ${counted(p.instances.length, 'instance')} in ${counted(series, 'series', 'series')}${keeps} (${objects}, ${linkageText(d)}, ${counted(d.quarantine.originals, 'quarantined original')}${conflicts}${spooled}${orphans}${leftovers}${jobs})`,
    `revoked ${counted(d.sharing.releasesRevoked.length, 'release')}`,
    `removed them from ${counted(d.sharing.cohortsChanged.length, 'saved cohort')}`,
  ];
  if (d.tombstones)
    parts.push(
      `${counted(d.tombstones, 'patient')} tombstoned: their files are refused if sent again`,
    );
  return `${parts.join('; ')}\n${peerLines(d)}`;
}

/**
 * One line per peer lake that lpacs sync sent a changed cohort or release
 * to: its copies are out of this erasure's reach. A patient's objects
 * keep their pseudonym there (sync sends the bytes as stored), so the
 * same --patient erases them.
 */
function peerLines(d: ErasureDone): string {
  const there =
    d.plan.action === 'erase.patient'
      ? `lpacs erase --patient ${d.plan.target} --reason ... on that lake`
      : 'an erasure of the same instances on that lake';
  return d.peers
    .map(
      (p) =>
        `sent to ${p.to} by lpacs sync (${p.targets.join(', ')}, last ${p.last}): that lake may hold copies, which this erasure cannot reach; remove them with ${there}\n`,
    )
    .join('');
}

/**
 * The JSON report of a run of an erasure: `series`, `studies` and
 * `patients` count those left with no instance (removed), `in` those the
 * erased instances were in (other instances may still hold some).
 */
export function erasureReport(d: ErasureDone): Record<string, unknown> {
  return {
    action: d.plan.action,
    resumed: d.resumed,
    instances: d.plan.instances.length,
    series: d.plan.series.length,
    studies: d.plan.studies.length,
    patients: d.plan.patients.length,
    in: within(d.plan),
    objects: d.objectsDeleted,
    objectsAlreadyGone: d.objectsAbsent,
    orphansSwept: d.orphans,
    leftoverPredictions: d.leftovers.predictions,
    leftoverMasks: d.leftovers.masks,
    jobs: d.jobs.jobs,
    jobInputs: d.jobs.inputs,
    linkageRecords: d.linkage.records,
    accessionLinks: d.linkage.accessionLinks,
    quarantined: d.quarantine.originals,
    conflicts: d.quarantine.conflicts,
    spooled: d.spooled,
    tombstones: d.tombstones,
    releasesRevoked: d.sharing.releasesRevoked,
    cohortsChanged: d.sharing.cohortsChanged,
    syncedTo: d.peers,
  };
}

/**
 * Prints what runErasure did (not a refusal: see eraseCommand); the exit
 * code, 1 when sharing failed.
 */
export function printErasure(
  opts: Options,
  r: ErasureRun,
  extra: Record<string, unknown> = {},
): number {
  const runs = [r.finished, r.done].filter((d) => d !== undefined);
  if (opts.json) {
    const main = r.done ?? r.finished;
    process.stdout.write(
      `${JSON.stringify(
        {
          ...extra,
          ...(main ? erasureReport(main) : { instances: 0 }),
          ...(r.finished && r.done
            ? { finishedFirst: erasureReport(r.finished) }
            : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else if (!runs.length)
    process.stdout.write('no erasure was left unfinished\n');
  for (const d of runs) if (!opts.json) process.stdout.write(erasureLine(d));
  const failed = runs.some((d) => d.sharing.failed.length);
  if (failed)
    process.stderr.write(
      `the erasure is not finished: rerun lpacs erase resume --lake ${opts.lake}\n`,
    );
  return failed ? 1 : 0;
}
