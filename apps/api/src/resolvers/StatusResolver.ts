import { Action } from '@lpacs/access';
import { Lake } from '@lpacs/lake';
import {
  Arg,
  Authorized,
  Ctx,
  Field,
  Float,
  Int,
  ObjectType,
  Query,
  Resolver,
} from 'type-graphql';
import type { ApiContext } from '../context';

/**
 * File extensions an API answer may name: a fixed list, so that no part of
 * a file's name (which may be the patient's) ever leaves the machine.
 */
const KNOWN_EXTENSIONS = new Set([
  'dcm',
  'dicom',
  'dic',
  'ima',
  'img',
  'txt',
  'csv',
  'json',
  'xml',
  'htm',
  'html',
  'pdf',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'bmp',
  'tif',
  'tiff',
  'zip',
  'gz',
  'tgz',
  'tar',
  '7z',
  'nii',
  'mhd',
  'raw',
  'ini',
  'log',
  'db',
  'exe',
  'dll',
]);

/** The extension of a source path when it is a known one, else null. */
export function knownExtension(source: string): string | null {
  const name = source.split(/[\\/]/).pop() ?? '';
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  const ext = name.slice(dot + 1).toLowerCase();
  return KNOWN_EXTENSIONS.has(ext) ? ext : null;
}

@ObjectType({
  description:
    'A file the lake refused, and why. Not where it came from: export folders and files are often named after the patient, so the path stays on the machine (lpacs status, lpacs quarantine list).',
})
class QuarantineEntry {
  @Field() id!: string;
  @Field({ description: 'NOT_DICOM, TRUNCATED, CONFLICT, ...' }) code!: string;
  @Field() message!: string;
  @Field() at!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "The file's extension (dcm, txt, zip, ...) when it is a common one, else null; never its name",
  })
  extension!: string | null;
  @Field(() => Float, {
    nullable: true,
    description:
      'Bytes of the original the quarantine keeps; null when it kept only the reason (not DICOM, unreadable)',
  })
  sizeBytes!: number | null;
}

@ObjectType({ description: 'What the lake holds and what it refused.' })
class LakeStatus {
  @Field(() => Int) patients!: number;
  @Field(() => Int) studies!: number;
  @Field(() => Int) series!: number;
  @Field(() => Int) instances!: number;
  @Field(() => Float, { description: 'Bytes of stored objects' })
  objectBytes!: number;
  @Field(() => Int) batches!: number;
  @Field(() => Int) quarantinedCount!: number;
  @Field(() => [QuarantineEntry], { description: 'Newest first' })
  quarantined!: QuarantineEntry[];
}

/** Ingest status and the quarantine, for admins and stewards. */
@Resolver()
export class StatusResolver {
  @Authorized(Action.LakeStatus)
  @Query(() => LakeStatus)
  async lakeStatus(
    @Ctx() ctx: ApiContext,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
  ): Promise<LakeStatus> {
    const lake = await Lake.open(ctx.lakeRoot, undefined, 'read');
    try {
      const [counts] = await ctx.cohorts.catalog.query(
        `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
                count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances,
                coalesce(sum(size_bytes), 0) AS bytes FROM instances`,
      );
      const quarantined = await lake.quarantined();
      const sizes = await lake.quarantinedSizes();
      return Object.assign(new LakeStatus(), {
        patients: Number(counts?.patients ?? 0),
        studies: Number(counts?.studies ?? 0),
        series: Number(counts?.series ?? 0),
        instances: Number(counts?.instances ?? 0),
        objectBytes: Number(counts?.bytes ?? 0),
        batches: (await lake.batches()).length,
        quarantinedCount: quarantined.length,
        // Only what says nothing of the patient: never the source path.
        quarantined: quarantined
          .slice(0, Math.max(1, Math.min(limit, 1000)))
          .map((q) =>
            Object.assign(new QuarantineEntry(), {
              id: q.id,
              code: q.code,
              message: q.message,
              at: q.at,
              extension: knownExtension(q.source),
              sizeBytes: sizes.get(q.id) ?? null,
            }),
          ),
      });
    } finally {
      lake.close();
    }
  }
}
