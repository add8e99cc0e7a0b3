#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { exitOnClosedPipe } from './exitOnClosedPipe';
import { portNumber, readOptions } from './options';

const USAGE = `usage: lpacs <command> [options]

commands:
  init             create a lake and fix its de-identification options
                   [--dates off|full|modified] [--retain NAME]... [--no-clean-descriptors]
                   [--clean structured-content|graphics]... [--blanking FILE] [--encrypt]
                   [--accept-unmarked secondary-capture|recognizable-visual-features]...
                   NAME: patient-characteristics, device-identity,
                   institution-identity, uids, safe-private (default: modified
                   dates, patient characteristics, clean descriptors); FILE: a
                   JSON list of per-device pixel blanking rules (docs/deid.md);
                   --accept-unmarked: ingest secondary captures that do not say
                   BurnedInAnnotation NO, or objects that may show the patient
                   (RecognizableVisualFeatures YES, photographs that do not
                   say NO), with a notice (else quarantined);
                   --encrypt: objects, tables, state, releases, audit log,
                   secrets and linkage encrypted at rest
                   under the KEK (docs/encryption.md); on a lake that exists
                   only the options given change (init alone prints them),
                   --accept-unmarked none empties that list
  keys rotate --new-kek-file PATH
                   re-wrap an encrypted lake's data keys under a new KEK
  ingest PATH...   ingest DICOM files, folders (recursive), .zip and .tar(.gz)
                   archives and DICOMDIR media
  pull URL         pull studies from another PACS over DICOMweb (QIDO-RS, WADO-RS)
                   [--patient ID] [--study UID] [--date FROM-TO] [--modality M]
                   [--token T | --user NAME:PASSWORD]
  serve            serve the GraphQL API at /graphql, DICOMweb (QIDO-RS, WADO-RS,
                   STOW-RS) at /dicomweb, /metrics, /healthz and a query page at /;
                   with --dimse-port N [--ae-title T] and --allow-ae A... (the calling
                   AE titles that may send) or --allow-any-ae, a C-STORE SCP;
                   --tls-cert FILE --tls-key FILE for HTTPS; --cors-origin URL...;
                   --dimse-tls-cert FILE --dimse-tls-key FILE [--dimse-tls-ca FILE]
                   for DICOM TLS (the CA's signature required of calling nodes);
                   --dimse-compact-after N: merge the lake's batches when the SCP
                   is idle and they number N or more (default 100; 0 never);
                   --ohif-url URL (or $LPACS_OHIF_URL) links studies to an OHIF Viewer;
                   --trust-proxy ADDR|RANGE|none (repeatable): whose X-Forwarded-For
                   names a signing-in client (default 127.0.0.1 and ::1, the portal)
  status           lake contents, batches, the audit head, an unfinished erasure,
                   received instances waiting in a C-STORE spool, quarantined files
  sql QUERY        run DuckDB SQL over the lake's tables (instances, series,
                   studies, patients, attributes, predictions); --json
  quarantine [list]
                   the files ingest refused, with their reasons and ids;
                   quarantine retry [ID...]: ingest the kept originals again
                   (after init --accept-unmarked or a blanking rule, say);
                   quarantine drop ID... --reason TEXT: delete them; audited
  compact          merge each table's batches into one file (readers never
                   see a missing or doubled row)
  demo             ingest the bundled sample, serve, and run a sample query
  users add NAME --role ROLE [--password-stdin]
                   add a user (admin, steward, researcher, collaborator);
                   also: users list | disable NAME | password NAME |
                   first-password (what serve left off a terminal)
  tokens create USER [--label L] [--days N] [--scope ACTION]...
                   print an API token (Authorization: Bearer ...);
                   also: tokens list [USER] | revoke ID
  audit [--actor A] [--action X] [--limit N | --all]
                   the audit log, newest first (the last 50 unless told);
                   audit verify [ENTRIES:HASH]
                   checks its chain, its head and an anchor from lpacs status
  erase (--patient PSEUDONYM | --study UID) --reason TEXT
                   erase one patient (withdrawn consent; their files are
                   refused from then on) or study from every table, object,
                   linkage record, quarantine entry and release; audited;
                   by the site's identifiers: --original-patient-id ID
                   [--issuer ISSUER] | --original-study-uid UID (the lake's
                   are computed, the originals kept nowhere); nothing to
                   erase fails, unless --tombstone-only (a patient with no
                   data yet); erase resume finishes an interrupted erasure;
                   erase --replay-from LIVE_LAKE erases again in --lake
                   (a restored lake) what LIVE_LAKE erased
  retention (--older-than-days N | --before INSTANT | --cohort ID) [--modality M]... --reason TEXT [--apply]
                   erase what was ingested more than N days ago, of some
                   modalities, of a project (its saved cohort), all given
                   holding (a dry run without --apply); audited
  sync (--cohort ID | --release ID) --to URL [--token T]
                   send a saved cohort or an approved release to another
                   lpacs, only what it lacks; a rerun resumes
  backup DEST      an incremental, consistent snapshot of the lake (while it runs);
                   DEST is a directory or s3://bucket/prefix [--s3-endpoint URL];
                   --verify reads back what is there and repairs damaged copies
  backup prune DEST
                   delete snapshots and the files only they name:
                   --snapshot ID... | --keep-last N | --older-than-days D |
                   --before-erasures (every snapshot begun before the lake's
                   last erasure) | --all; --dry-run says what would go and
                   the bytes freed; audited
  restore BACKUP   rebuild a lake in --lake NEWDIR from a backup (a directory or
                   s3://bucket/prefix), verifying every checksum [--snapshot ID]
  models add DIR   store an ONNX model folder (model.onnx + manifest.json)
  models list      the lake's models
  predict          run a model over the lake's instances as a resumable job
                   --model NAME [--modality M]... [--series UID]... [--threads N];
                   --resume ID continues a stopped job, --cancel ID cancels one

options:
  --lake DIR       lake directory (default: $LPACS_LAKE or ./lake)
  --json           print the report as JSON
  --host H         serve on this address (default 127.0.0.1)
  --port N         serve on this port (default 4000)
  --workers N      ingest worker threads (default: one per core)
  --batch-size N   files per committed batch (default 1000)
  --kek-file PATH  an encrypted lake's key-encryption key (or $LPACS_KEK,
                   $LPACS_KEK_FILE)
`;

/**
 * One command's help: its entries of USAGE (`backup` has two, `backup DEST`
 * and `backup prune DEST`) and the options every command takes, so it
 * says what the overall usage says.
 */
function commandHelp(command: string): string | undefined {
  const [head, rest = ''] = USAGE.split('\ncommands:\n');
  const [commands = '', options = ''] = rest.split('\noptions:\n');
  const entries: string[][] = [];
  for (const line of commands.split('\n')) {
    if (/^  \S/.test(line)) entries.push([line]);
    else if (line.trim()) entries.at(-1)?.push(line);
  }
  const own = entries.filter((e) => e[0]!.trim().split(/\s+/)[0] === command);
  if (!own.length) return undefined;
  const usage = head!.replace('<command>', command).trimEnd();
  return `${usage}\n\n${own.map((e) => e.join('\n')).join('\n')}\n\noptions (shared):\n${options}`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      lake: { type: 'string' },
      json: { type: 'boolean' },
      host: { type: 'string' },
      port: { type: 'string' },
      workers: { type: 'string' },
      'batch-size': { type: 'string' },
      exit: { type: 'boolean' },
      dates: { type: 'string' },
      retain: { type: 'string', multiple: true },
      'no-clean-descriptors': { type: 'boolean' },
      clean: { type: 'string', multiple: true },
      blanking: { type: 'string' },
      'accept-unmarked': { type: 'string', multiple: true },
      encrypt: { type: 'boolean' },
      'kek-file': { type: 'string' },
      'new-kek-file': { type: 'string' },
      'dimse-port': { type: 'string' },
      'ae-title': { type: 'string' },
      'allow-ae': { type: 'string', multiple: true },
      'allow-any-ae': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'dimse-tls-cert': { type: 'string' },
      'dimse-tls-key': { type: 'string' },
      'dimse-tls-ca': { type: 'string' },
      'dimse-compact-after': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'ohif-url': { type: 'string' },
      'trust-proxy': { type: 'string', multiple: true },
      model: { type: 'string' },
      modality: { type: 'string', multiple: true },
      series: { type: 'string', multiple: true },
      resume: { type: 'string' },
      cancel: { type: 'string' },
      threads: { type: 'string' },
      role: { type: 'string' },
      snapshot: { type: 'string', multiple: true },
      'keep-last': { type: 'string' },
      'before-erasures': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      all: { type: 'boolean' },
      's3-endpoint': { type: 'string' },
      verify: { type: 'boolean' },
      reason: { type: 'string' },
      'older-than-days': { type: 'string' },
      before: { type: 'string' },
      apply: { type: 'boolean' },
      patient: { type: 'string' },
      study: { type: 'string' },
      'original-patient-id': { type: 'string' },
      issuer: { type: 'string' },
      'original-study-uid': { type: 'string' },
      'tombstone-only': { type: 'boolean' },
      'replay-from': { type: 'string' },
      date: { type: 'string' },
      token: { type: 'string' },
      cohort: { type: 'string' },
      release: { type: 'string' },
      to: { type: 'string' },
      user: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      label: { type: 'string' },
      days: { type: 'string' },
      scope: { type: 'string', multiple: true },
      actor: { type: 'string' },
      action: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write((command && commandHelp(command)) || USAGE);
    return command || values.help ? 0 : 2;
  }
  const opts = readOptions(values);
  // An encrypted lake's KEK: --kek-file overrides the environment.
  if (values['kek-file'] !== undefined) {
    process.env.LPACS_KEK_FILE = values['kek-file'];
    delete process.env.LPACS_KEK;
  }
  switch (command) {
    // Commands load lazily: ingest need not pay for the GraphQL stack.
    case 'init':
      return (await import('./commands/initCommand.js')).initCommand(opts, {
        dates: values.dates,
        retain: values.retain,
        noClean: values['no-clean-descriptors'],
        clean: values.clean,
        blanking: values.blanking,
        acceptUnmarked: values['accept-unmarked'],
        encrypt: values.encrypt,
      });
    case 'keys':
      return (await import('./commands/keysCommand.js')).keysCommand(
        rest,
        opts,
        { newKekFile: values['new-kek-file'] },
      );
    case 'ingest':
      return (await import('./commands/ingestCommand.js')).ingestCommand(
        rest,
        opts,
      );
    case 'serve':
      return (await import('./commands/serveCommand.js')).serveCommand(opts, {
        port: portNumber('dimse-port', values['dimse-port']),
        aeTitle: values['ae-title'],
        allow: values['allow-ae'],
        allowAny: values['allow-any-ae'],
        tlsCert: values['tls-cert'],
        tlsKey: values['tls-key'],
        dimseTlsCert: values['dimse-tls-cert'],
        dimseTlsKey: values['dimse-tls-key'],
        dimseTlsCa: values['dimse-tls-ca'],
        compactAfter: values['dimse-compact-after'],
        corsOrigins: values['cors-origin'],
        ohifUrl: values['ohif-url'] ?? process.env.LPACS_OHIF_URL,
        trustProxy: values['trust-proxy'],
      });
    case 'compact':
      return (await import('./commands/compactCommand.js')).compactCommand(
        opts,
      );
    case 'status':
      return (await import('./commands/statusCommand.js')).statusCommand(opts);
    case 'sql':
      return (await import('./commands/sqlCommand.js')).sqlCommand(rest, opts);
    case 'quarantine':
      return (
        await import('./commands/quarantineCommand.js')
      ).quarantineCommand(rest, opts, { reason: values.reason });
    case 'demo':
      return (await import('./commands/demoCommand.js')).demoCommand(
        opts,
        values.exit === true,
      );
    case 'pull':
      return (await import('./commands/pullCommand.js')).pullCommand(
        rest,
        opts,
        {
          patient: values.patient,
          study: values.study,
          date: values.date,
          modality: values.modality?.[0],
          token: values.token,
          user: values.user,
        },
      );
    case 'erase':
      return (await import('./commands/eraseCommand.js')).eraseCommand(opts, {
        patient: values.patient,
        study: values.study,
        originalPatientId: values['original-patient-id'],
        issuer: values.issuer,
        originalStudyUid: values['original-study-uid'],
        tombstoneOnly: values['tombstone-only'],
        replayFrom: values['replay-from'],
        reason: values.reason,
        resume: rest[0] === 'resume',
      });
    case 'retention':
      return (await import('./commands/retentionCommand.js')).retentionCommand(
        opts,
        {
          olderThanDays: values['older-than-days'],
          before: values.before,
          modality: values.modality,
          cohort: values.cohort,
          reason: values.reason,
          apply: values.apply,
        },
      );
    case 'sync':
      return (await import('./commands/syncCommand.js')).syncCommand(opts, {
        cohort: values.cohort,
        release: values.release,
        to: values.to,
        token: values.token,
      });
    case 'backup':
      if (rest[0] === 'prune')
        return (await import('./commands/pruneCommand.js')).pruneCommand(
          rest.slice(1),
          opts,
          {
            snapshot: values.snapshot,
            keepLast: values['keep-last'],
            olderThanDays: values['older-than-days'],
            beforeErasures: values['before-erasures'],
            all: values.all,
            dryRun: values['dry-run'],
            s3Endpoint: values['s3-endpoint'],
          },
        );
      return (await import('./commands/backupCommand.js')).backupCommand(
        rest,
        opts,
        values['s3-endpoint'],
        values.verify,
      );
    case 'restore':
      if ((values.snapshot?.length ?? 0) > 1) {
        process.stderr.write('lpacs restore: one --snapshot at a time\n');
        return 2;
      }
      return (await import('./commands/backupCommand.js')).restoreCommand(
        rest,
        opts,
        values.snapshot?.[0],
        values['s3-endpoint'],
      );
    case 'users':
      return (await import('./commands/usersCommand.js')).usersCommand(
        rest,
        opts,
        { role: values.role, passwordStdin: values['password-stdin'] },
      );
    case 'tokens':
      return (await import('./commands/tokensCommand.js')).tokensCommand(
        rest,
        opts,
        { label: values.label, days: values.days, scope: values.scope },
      );
    case 'audit':
      return (await import('./commands/auditCommand.js')).auditCommand(
        rest,
        opts,
        {
          actor: values.actor,
          action: values.action,
          limit: values.limit,
          all: values.all,
        },
      );
    case 'models':
      if (rest[0] === 'add')
        return (
          await import('./commands/modelsAddCommand.js')
        ).modelsAddCommand(rest.slice(1), opts);
      if (rest[0] === 'list')
        return (
          await import('./commands/modelsListCommand.js')
        ).modelsListCommand(opts);
      process.stderr.write(`lpacs models: add DIR or list\n`);
      return 2;
    case 'predict':
      return (await import('./commands/predictCommand.js')).predictCommand(
        {
          model: values.model,
          modality: values.modality,
          series: values.series,
          resume: values.resume,
          cancel: values.cancel,
          threads:
            values.threads === undefined ? undefined : Number(values.threads),
        },
        opts,
      );
    default:
      process.stderr.write(`lpacs: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/**
 * Plain words for errors whose own text misleads: Node's option parser
 * suggests "--" for a misspelt option, and a busy port says only
 * EADDRINUSE.
 */
function explain(e: {
  code?: string;
  message?: string;
  port?: number;
  address?: string;
}): string | undefined {
  const option = /'(--?[a-z0-9-]+)/i.exec(e.message ?? '')?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return `unknown option ${option ?? ''} (lpacs --help lists them)`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return `option ${option ?? ''} needs a value (one starting with - is written ${option ?? '--option'}=VALUE; lpacs --help)`;
  if (e.code === 'EADDRINUSE')
    return `EADDRINUSE: ${e.address ?? 'the address'} port ${e.port ?? ''} is in use (another lpacs serve?): choose another with --port`;
  return undefined;
}

exitOnClosedPipe();
main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(
      `lpacs: ${explain(e) ?? `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`}\n`,
    );
    process.exitCode = err && e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  },
);
