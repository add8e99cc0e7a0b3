import { join } from 'node:path';
import type { TableName } from './types';

/**
 * Every path under a lake directory; nothing else builds lake paths.
 *
 * ```
 * objects/ab/abcdef....dcm          de-identified DICOM, by SHA-256
 * tables/<table> -> .<table>.v<N>/batch=<id>/part-0.parquet
 * locks/<kind>-<pid>-<rand>@<host>  who writes the lake now (LakeLocks)
 * staging/<writer>/<id>/            a batch being written (never read)
 * staging/<writer>/objects/         objects being written
 * journal/<writer>/<id>.json        a committed batch still being moved
 * quarantine/<id>/                  refused files and why
 * keys/site.key                     the site secret (0600)
 * keys/data-keys.json               data keys wrapped by the KEK (encrypted lakes)
 * keys/linkage/<batch>.ndjson       encrypted original -> pseudonym links
 * keys/mask-names.key               the key of mask names (encrypted lakes)
 * models/<sha256>/                  a registered model (model.onnx, manifest.json)
 * masks/<model sha256>/<uid>-<f>.npy segmentation masks (uint8, NumPy .npy)
 * masks/<model sha256>/<uid>-<f>.seg.dcm the same mask as DICOM SEG
 *                                   (<uid> keyed in an encrypted lake: maskNames)
 * state/jobs/<id>.json               a prediction job and its progress
 * state/erasure.json                an erasure under way (ErasurePlan)
 * state/erased-patients.json        patients erased on request (tombstones)
 * state/last-erasure.json           when the last erasure finished
 * state/last-backup.json            the last backup: snapshot, place, time
 * state/backups/<hash>.json         the snapshots in each backup (BackupLedger)
 * lake.json                         settings (de-identification options)
 * ```
 */
export class LakeLayout {
  constructor(readonly root: string) {}

  get objects(): string {
    return join(this.root, 'objects');
  }
  get tables(): string {
    return join(this.root, 'tables');
  }
  get staging(): string {
    return join(this.root, 'staging');
  }
  /** A writer's own staging: its batches and objects being written. */
  writerStaging(writer: string): string {
    return join(this.staging, writer);
  }
  /** Objects a writer is writing, renamed into objects/ when complete. */
  objectStaging(writer: string): string {
    return join(this.staging, writer, 'objects');
  }
  get journal(): string {
    return join(this.root, 'journal');
  }
  /** A writer's journals of committed batches still being moved. */
  writerJournal(writer: string): string {
    return join(this.journal, writer);
  }
  get quarantine(): string {
    return join(this.root, 'quarantine');
  }
  get keys(): string {
    return join(this.root, 'keys');
  }
  /** Settings that shape stored data, fixed when the lake is created. */
  get settings(): string {
    return join(this.root, 'lake.json');
  }
  /** One entry per process writing the lake (see LakeLocks). */
  get locks(): string {
    return join(this.root, 'locks');
  }
  /** Encrypted linkage records, one file per batch (steward use only). */
  get linkage(): string {
    return join(this.keys, 'linkage');
  }
  get siteKey(): string {
    return join(this.keys, 'site.key');
  }
  /** An encrypted lake's data keys, each wrapped by the KEK. */
  get dataKeys(): string {
    return join(this.keys, 'data-keys.json');
  }
  /** Registered ONNX models, one folder per SHA-256 of model.onnx. */
  get models(): string {
    return join(this.root, 'models');
  }
  /** The folder of one registered model. */
  model(sha256: string): string {
    return join(this.models, sha256);
  }
  /** The last backup taken of this lake: snapshot id, time, size. */
  get lastBackup(): string {
    return join(this.root, 'state', 'last-backup.json');
  }
  /** The snapshots the lake has in each of its backups (BackupLedger). */
  get backupLedgers(): string {
    return join(this.root, 'state', 'backups');
  }
  /** When the last erasure that removed data finished (see lastErasure). */
  get lastErasure(): string {
    return join(this.root, 'state', 'last-erasure.json');
  }
  /**
   * The plan of an erasure under way, written before any table changes
   * and deleted once every step is done (see ErasurePlan).
   */
  get erasure(): string {
    return join(this.root, 'state', 'erasure.json');
  }
  /** Pseudonyms of patients erased on request, whose files are refused. */
  get tombstones(): string {
    return join(this.root, 'state', 'erased-patients.json');
  }
  /** Prediction jobs: state, then inputs, one pair per job id. */
  get jobs(): string {
    return join(this.root, 'state', 'jobs');
  }
  /** A job's state and progress (rewritten atomically). */
  job(id: string): string {
    return join(this.jobs, `${id}.json`);
  }
  /** A job's inputs, written once when the job is created. */
  jobInputs(id: string): string {
    return join(this.jobs, `${id}.inputs.json`);
  }
  /**
   * The object key of a mask as a DICOM Segmentation object, named after
   * `sopInstanceUID` as given: callers go through maskNames (maskKey),
   * which gives the keyed stand-in of the UID in an encrypted lake.
   */
  segmentationKey(
    modelSha256: string,
    sopInstanceUID: string,
    frame: number,
  ): string {
    return `masks/${modelSha256}/${sopInstanceUID}-${frame}.seg.dcm`;
  }
  /** The object key (relative path) of a segmentation mask (as above). */
  maskKey(modelSha256: string, sopInstanceUID: string, frame: number): string {
    return `masks/${modelSha256}/${sopInstanceUID}-${frame}.npy`;
  }

  /** The object key (relative path) of a de-identified object. */
  objectKey(sha256: string): string {
    return `objects/${sha256.slice(0, 2)}/${sha256}.dcm`;
  }

  table(name: TableName): string {
    return join(this.tables, name);
  }

  batchDir(name: TableName, batchId: string): string {
    return join(this.table(name), `batch=${batchId}`);
  }
}
