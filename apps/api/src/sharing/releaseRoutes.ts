import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import type { AccessStore, AuditLog } from '@lpacs/access';
import {
  objectSize,
  objectStream,
  openLakeCipher,
  readObject,
} from '@lpacs/lake';
import { ZipStream, readReleaseManifest, releaseDir } from '@lpacs/sharing';
import type {
  DownloadLinks,
  ReleaseManifest,
  SharingStore,
} from '@lpacs/sharing';
import { downloadRefusal } from '../resolvers/SharingResolver';

/** What the release routes need from the server. */
export interface ReleaseRouteDeps {
  lakeRoot: string;
  access: AccessStore;
  audit: AuditLog;
  sharing: SharingStore;
  links: DownloadLinks;
}

function refuse(res: ServerResponse, status: number, why: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(`${why}\n`);
}

/**
 * The names a release's files have: its manifest, data dictionary and
 * Parquet tables, and `dicom/<study>/<series>/<instance>.dcm` under the
 * lake's own UIDs (`2.25.` and a decimal, PS3.5 B.2).
 */
const RELEASE_FILE =
  /^(manifest\.json|DATA_DICTIONARY\.md|metadata\/(patients|studies|series|instances)\.parquet|dicom(\/2\.25\.\d{1,39}){3}\.dcm)$/;

/** A file path from the URL, or undefined when its escapes are not UTF-8. */
function decodedPath(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** A byte range of `size` from a Range header (one range), or why not. */
function rangeOf(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : 'unsatisfiable';
}

/**
 * `GET /releases/<id>/download.zip` and `GET /releases/<id>/files/<path>`,
 * both with a signed link from the releaseDownload mutation. Access is
 * checked again on every request, so revocation and expiry act at once.
 * Returns false when the path is not a release route.
 */
export async function releaseRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: ReleaseRouteDeps,
): Promise<boolean> {
  const m =
    /^\/releases\/(rel_[0-9a-f]{16})\/(download\.zip|files\/(.+))$/.exec(
      url.pathname,
    );
  if (!m || req.method !== 'GET') return false;
  const id = m[1]!;
  const link = deps.links.verify(id, url.searchParams);
  if ('refused' in link) {
    await deps.audit.append({
      actor: 'anonymous',
      action: 'release.download',
      target: id,
      outcome: 'denied',
      detail: { why: link.refused },
    });
    refuse(res, 403, link.refused);
    return true;
  }
  const user = deps.access.user(link.user);
  const share = deps.sharing.shares().find((s) => s.releaseId === id);
  const why =
    !user || user.disabledAt
      ? 'your account is disabled'
      : !share
        ? 'no such release'
        : downloadRefusal(user, share);
  if (why) {
    await deps.audit.append({
      actor: link.user,
      action: 'release.download',
      target: id,
      outcome: 'denied',
      detail: { why },
    });
    refuse(res, 403, why);
    return true;
  }
  const manifest = await readReleaseManifest(deps.lakeRoot, id);
  type Source = ReleaseManifest['files'][number]['source'];
  // Objects and the release's own files alike are read through the lake
  // by their key, decrypted when it is encrypted.
  const keyOf = (source: Source) =>
    'objectKey' in source
      ? source.objectKey
      : relative(
          deps.lakeRoot,
          join(releaseDir(deps.lakeRoot, id), source.releaseFile),
        );
  const manifestKey = keyOf({ releaseFile: 'manifest.json' });
  const streamOf = async (source: Source) =>
    (await objectStream(deps.lakeRoot, keyOf(source))).stream;
  if (m[2] === 'download.zip') {
    await deps.audit.append({
      actor: user!.name,
      role: user!.role,
      action: 'release.download',
      target: id,
      outcome: 'ok',
      detail: { files: manifest.files.length, bytes: manifest.totalBytes },
    });
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="${id}.zip"`,
    });
    const zip = new ZipStream(res);
    const listed = await objectStream(deps.lakeRoot, manifestKey);
    await zip.add('manifest.json', listed.size, listed.stream);
    for (const f of manifest.files)
      await zip.add(f.path, f.size, await streamOf(f.source));
    await zip.finish();
    return true;
  }
  const wanted = decodedPath(m[3]!);
  const file: { key: string; size: number } | undefined =
    wanted === undefined
      ? undefined
      : wanted === 'manifest.json'
        ? {
            key: manifestKey,
            size: await objectSize(deps.lakeRoot, manifestKey),
          }
        : (() => {
            const f = manifest.files.find((x) => x.path === wanted);
            return f ? { key: keyOf(f.source), size: f.size } : undefined;
          })();
  if (!file || wanted === undefined) {
    // A name that is not the release's own naming may be anything the
    // caller typed, a path or an original UID: the log says only that it
    // was not found.
    const named = wanted !== undefined && RELEASE_FILE.test(wanted);
    await deps.audit.append({
      actor: user!.name,
      role: user!.role,
      action: 'release.download',
      target: id,
      outcome: 'denied',
      detail: { why: 'no such file', ...(named ? { file: wanted } : {}) },
    });
    refuse(
      res,
      404,
      named
        ? `no file ${wanted} in release ${id}`
        : `no such file in release ${id}`,
    );
    return true;
  }
  await deps.audit.append({
    actor: user!.name,
    role: user!.role,
    action: 'release.file',
    target: `${id}/${wanted.slice(0, 200)}`,
    outcome: 'ok',
  });
  const range = rangeOf(req.headers.range, file.size);
  const type = wanted.endsWith('.dcm')
    ? 'application/dicom'
    : wanted.endsWith('.json')
      ? 'application/json'
      : 'application/octet-stream';
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${file.size}` }).end();
    return true;
  }
  if (range) {
    res.writeHead(206, {
      'content-type': type,
      'accept-ranges': 'bytes',
      'content-range': `bytes ${range.start}-${range.end}/${file.size}`,
      'content-length': range.end - range.start + 1,
    });
    if (openLakeCipher(deps.lakeRoot)) {
      // TODO: a range of a sealed file is cut from the whole file decrypted
      // in memory; seeking into AES-GCM's counter stream would avoid
      // holding large objects, at the cost of an unauthenticated read.
      const bytes = await readObject(deps.lakeRoot, file.key);
      res.end(bytes.subarray(range.start, range.end + 1));
      return true;
    }
    createReadStream(join(deps.lakeRoot, file.key), {
      start: range.start,
      end: range.end,
    }).pipe(res);
    return true;
  }
  res.writeHead(200, {
    'content-type': type,
    'accept-ranges': 'bytes',
    'content-length': file.size,
  });
  (await objectStream(deps.lakeRoot, file.key)).stream.pipe(res);
  return true;
}
