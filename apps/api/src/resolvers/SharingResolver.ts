import { AccessError, AccessErrorCode, Action, Role } from '@lpacs/access';
import type { Principal } from '@lpacs/access';
import {
  SharingError,
  buildRelease,
  readReleaseManifest,
} from '@lpacs/sharing';
import type { ReleaseManifest, ShareRequest } from '@lpacs/sharing';
import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { badInput } from '../ApiError';
import { checkFilter } from '../cohort/checkFilter';
import { compileFilter } from '../cohort/compileFilter';
import type { ApiContext } from '../context';
import { CohortFilter } from '../schema/CohortFilter';
import { COHORT_ID, RELEASE_ID, SHARE_ID } from '../sharing/idShapes';
import {
  DownloadLink,
  ReleaseType,
  SavedCohortType,
  SavedCounts,
  ShareRequestType,
} from '../schema/SharingTypes';

const YEAR_MS = 366 * 86_400_000;
/** Download links live this long; a browser starts the download at once. */
const LINK_SECONDS = 15 * 60;

/**
 * Names the share a decision or revocation is about in its audit entry
 * before anything can fail, so a refused one (no such share, not pending,
 * no reason) is found by its id too. An argument not shaped like a share
 * id is free text the caller typed, and stays out of the log.
 */
async function auditShareId(
  ctx: ApiContext,
  action: Action,
  id: string,
): Promise<void> {
  if (SHARE_ID.test(id)) await ctx.gate.record(action, 'ok', id);
}

function sees(p: Principal): boolean {
  return p.role === Role.Admin || p.role === Role.Steward;
}

function shareOut(ctx: ApiContext, s: ShareRequest): ShareRequestType {
  const name = ctx.sharing.cohorts().find((c) => c.id === s.cohortId)?.name;
  return Object.assign(new ShareRequestType(), {
    ...s,
    cohortName: name ?? '(deleted)',
  });
}

function releaseOut(m: ReleaseManifest, share: ShareRequest): ReleaseType {
  return Object.assign(new ReleaseType(), {
    id: m.id,
    shareId: m.shareId,
    cohortName: m.cohortName,
    collaborator: m.collaborator,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt,
    status: share.status,
    fileCount: m.files.length,
    totalBytes: m.totalBytes,
    counts: m.counts,
  });
}

/** Why a collaborator may not have another collaborator's release. */
const NOT_YOURS = 'this release is not yours';
/** The answer to a release id no release has. */
const NO_SUCH_RELEASE = 'no such release';

/**
 * Why `who` may not download the release of `share` now, or undefined.
 * Collaborators get only their own, approved, unexpired releases; one
 * not theirs is NOT_YOURS whatever its status, which is not theirs to
 * learn either.
 */
export function downloadRefusal(
  who: { name: string; role: string },
  share: ShareRequest,
): string | undefined {
  const collaborator = who.role === Role.Collaborator;
  if (collaborator && share.collaborator !== who.name) return NOT_YOURS;
  if (share.status !== 'approved') return `this release is ${share.status}`;
  if (collaborator && Date.parse(share.expiresAt) <= Date.now())
    return 'your access to this release has expired';
  return undefined;
}

/** Today's counts of a saved cohort's filter, beside its frozen ones. */
@Resolver(() => SavedCohortType)
export class SavedCohortResolver {
  @FieldResolver(() => SavedCounts, {
    description: 'The same filter run on the lake as it is now.',
  })
  async currentCounts(
    @Root() cohort: SavedCohortType,
    @Ctx() ctx: ApiContext,
  ): Promise<SavedCounts> {
    const filter = JSON.parse(cohort.filter) as CohortFilter;
    return Object.assign(
      new SavedCounts(),
      await ctx.cohorts.counts(compileFilter(filter)),
    );
  }
}

/** Saved cohorts, share requests, decisions and releases. */
@Resolver()
export class SharingResolver {
  @Authorized(Action.ShareRequest)
  @Query(() => [String], {
    description: 'Names of active collaborators a share may be requested for.',
  })
  collaborators(@Ctx() ctx: ApiContext): string[] {
    return ctx.access
      .users()
      .filter((u) => u.role === Role.Collaborator && !u.disabledAt)
      .map((u) => u.name)
      .sort();
  }

  @Authorized(Action.CohortSave)
  @Mutation(() => SavedCohortType, {
    description:
      'Freezes a cohort: its query, counts, lake version and exact instances.',
  })
  async saveCohort(
    @Ctx() ctx: ApiContext,
    @Arg('name') name: string,
    @Arg('filter', () => CohortFilter, { nullable: true })
    filter?: CohortFilter,
  ): Promise<SavedCohortType> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 200)
      throw badInput('name must be 1-200 characters', 'name');
    const compiled = await checkFilter(filter, ctx.cohorts.catalog);
    const [counts, instances, lakeVersion] = await Promise.all([
      ctx.cohorts.counts(compiled),
      ctx.cohorts.instances(compiled),
      ctx.cohorts.lakeVersion(),
    ]);
    const saved = await ctx.sharing.saveCohort(
      {
        name: trimmed,
        owner: ctx.gate.principal!.name,
        filter: JSON.stringify(filter ?? {}),
        lakeVersion,
        counts,
      },
      instances,
    );
    await ctx.gate.record('cohort.save', 'ok', saved.id, {
      instances: counts.instances,
    });
    return Object.assign(new SavedCohortType(), saved);
  }

  @Authorized(Action.CohortRead)
  @Query(() => [SavedCohortType], {
    description: 'Saved cohorts: your own (stewards and admins: all).',
  })
  savedCohorts(@Ctx() ctx: ApiContext): SavedCohortType[] {
    const p = ctx.gate.principal!;
    return ctx.sharing
      .cohorts()
      .filter((c) => sees(p) || c.owner === p.name)
      .map((c) => Object.assign(new SavedCohortType(), c));
  }

  @Authorized(Action.ShareRequest)
  @Mutation(() => ShareRequestType, {
    description:
      'Asks a steward to share one of your saved cohorts with a collaborator.',
  })
  async requestShare(
    @Ctx() ctx: ApiContext,
    @Arg('cohortId') cohortId: string,
    @Arg('collaborator') collaborator: string,
    @Arg('purpose') purpose: string,
    @Arg('expiresAt', { description: 'YYYY-MM-DD, within a year' })
    expiresAt: string,
  ): Promise<ShareRequestType> {
    const p = ctx.gate.principal!;
    const cohort = ctx.sharing.cohorts().find((c) => c.id === cohortId);
    if (cohort?.owner !== p.name) {
      // An id of no cohort's shape is free text the caller typed: kept out.
      await ctx.gate.record(
        Action.ShareRequest,
        'ok',
        cohort || COHORT_ID.test(cohortId) ? cohortId : undefined,
        { why: cohort ? 'not your cohort' : 'no such cohort' },
      );
      // Another user's cohort is answered as one that does not exist, so
      // the answer tells no one its id is taken; the audit says why.
      throw new AccessError(
        AccessErrorCode.NotFound,
        `no saved cohort "${cohortId.slice(0, 64)}"`,
      );
    }
    const target = ctx.access.user(collaborator);
    if (!target || target.disabledAt || target.role !== Role.Collaborator)
      throw badInput(
        `"${collaborator}" is not an active collaborator`,
        'collaborator',
      );
    if (!purpose.trim() || purpose.length > 2000)
      throw badInput('purpose must be 1-2000 characters', 'purpose');
    const end = /^\d{4}-\d{2}-\d{2}$/.test(expiresAt)
      ? Date.parse(`${expiresAt}T23:59:59Z`)
      : NaN;
    if (!(end > Date.now() && end < Date.now() + YEAR_MS))
      throw badInput(
        `expiresAt must be a date (YYYY-MM-DD) within the next year, got "${expiresAt.slice(0, 40)}"`,
        'expiresAt',
      );
    const share = await ctx.sharing.requestShare({
      cohortId,
      requester: p.name,
      collaborator,
      purpose: purpose.trim(),
      expiresAt: new Date(end).toISOString(),
    });
    await ctx.gate.record('share.request', 'ok', share.id, {
      cohort: cohortId,
    });
    return shareOut(ctx, share);
  }

  @Authorized(Action.ShareList)
  @Query(() => [ShareRequestType], {
    description:
      'Share requests: your own (stewards and admins: all), newest first.',
  })
  shareRequests(
    @Ctx() ctx: ApiContext,
    @Arg('status', () => String, { nullable: true }) status?: string,
  ): ShareRequestType[] {
    const p = ctx.gate.principal!;
    return ctx.sharing
      .shares()
      .filter(
        (s) =>
          (sees(p) || s.requester === p.name) &&
          (!status || s.status === status),
      )
      .reverse()
      .map((s) => shareOut(ctx, s));
  }

  @Authorized(Action.ShareDecide)
  @Mutation(() => ShareRequestType, {
    description:
      'Approves (making the release) or denies a pending share; a denial needs a reason.',
  })
  async decideShare(
    @Ctx() ctx: ApiContext,
    @Arg('id') id: string,
    @Arg('approve') approve: boolean,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
  ): Promise<ShareRequestType> {
    const p = ctx.gate.principal!;
    await auditShareId(ctx, Action.ShareDecide, id);
    const share = ctx.sharing.share(id);
    if (share.status !== 'pending')
      throw badInput(`share ${id} is ${share.status}, not pending`, 'id');
    if (!approve && !reason?.trim())
      throw badInput('a denial needs a reason', 'reason');
    const decided = {
      decidedBy: p.name,
      decidedAt: new Date().toISOString(),
      ...(reason ? { reason: reason.trim() } : {}),
    };
    if (!approve) {
      const denied = await ctx.sharing.transition(
        id,
        'pending',
        'denied',
        decided,
      );
      await ctx.gate.record(Action.ShareDecide, 'ok', id, { decision: 'deny' });
      return shareOut(ctx, denied);
    }
    // Merged into the entry written with the response, so a build that
    // fails is audited against this share, with what it found missing.
    await ctx.gate.record(Action.ShareDecide, 'ok', id, {
      decision: 'approve',
    });
    const cohort = ctx.sharing.cohort(share.cohortId);
    let manifest: ReleaseManifest;
    try {
      manifest = await buildRelease({
        lakeRoot: ctx.lakeRoot,
        catalog: ctx.cohorts.catalog,
        share,
        cohort,
        instances: await ctx.sharing.cohortInstances(cohort.id),
        deidentification: ctx.deidentification(),
      });
    } catch (err) {
      if (err instanceof SharingError)
        await ctx.gate.record(Action.ShareDecide, 'ok', id, err.counts);
      throw err;
    }
    const approved = await ctx.sharing.transition(id, 'pending', 'approved', {
      ...decided,
      releaseId: manifest.id,
    });
    await ctx.gate.record(Action.ShareDecide, 'ok', id, {
      decision: 'approve',
      release: manifest.id,
      files: manifest.files.length,
    });
    return shareOut(ctx, approved);
  }

  @Authorized(Action.ShareRevoke)
  @Mutation(() => ShareRequestType, {
    description: 'Stops access to an approved release at once.',
  })
  async revokeShare(
    @Ctx() ctx: ApiContext,
    @Arg('id') id: string,
    @Arg('reason') reason: string,
  ): Promise<ShareRequestType> {
    await auditShareId(ctx, Action.ShareRevoke, id);
    if (!reason.trim()) throw badInput('a revocation needs a reason', 'reason');
    const revoked = await ctx.sharing.transition(id, 'approved', 'revoked', {
      reason: reason.trim(),
      decidedBy: ctx.gate.principal!.name,
      decidedAt: new Date().toISOString(),
    });
    await ctx.gate.record('share.revoke', 'ok', id);
    return shareOut(ctx, revoked);
  }

  @Authorized(Action.ReleaseList)
  @Query(() => [ReleaseType], {
    description:
      'Releases you may download (collaborators: only theirs, while approved and unexpired; with includeEnded, their revoked and expired ones too, so they can be told why they cannot).',
  })
  releases(
    @Ctx() ctx: ApiContext,
    @Arg('includeEnded', () => Boolean, {
      defaultValue: false,
      description:
        'A collaborator also gets their own revoked and expired releases (others get every release anyway)',
    })
    includeEnded: boolean,
  ): Promise<ReleaseType[]> {
    const p = ctx.gate.principal!;
    const theirs = (s: ShareRequest) =>
      includeEnded && downloadRefusal(p, s) !== NOT_YOURS;
    return Promise.all(
      ctx.sharing
        .shares()
        .filter(
          (s) =>
            s.releaseId && (sees(p) || !downloadRefusal(p, s) || theirs(s)),
        )
        .map(async (s) =>
          releaseOut(await readReleaseManifest(ctx.lakeRoot, s.releaseId!), s),
        ),
    );
  }

  @Authorized(Action.ReleaseDownload)
  @Mutation(() => DownloadLink, {
    description: 'A signed link to download a release, valid 15 minutes.',
  })
  async releaseDownload(
    @Ctx() ctx: ApiContext,
    @Arg('id') id: string,
  ): Promise<DownloadLink> {
    const p = ctx.gate.principal!;
    const share = ctx.sharing.shares().find((s) => s.releaseId === id);
    const refusal = share ? downloadRefusal(p, share) : NO_SUCH_RELEASE;
    // One audit entry for the mutation (the Gate's): it issues a link,
    // which the release route's own entry tells apart from the download.
    if (refusal) {
      // An id of no release's shape is free text the caller typed: kept out.
      const target = share || RELEASE_ID.test(id) ? id : undefined;
      await ctx.gate.record(Action.ReleaseDownload, 'ok', target, {
        step: 'link',
        why: refusal,
      });
      // Another collaborator's release is answered as one that does not
      // exist, so the answer tells no one it does; the audit says why.
      if (!share || refusal === NOT_YOURS)
        throw new AccessError(AccessErrorCode.NotFound, NO_SUCH_RELEASE);
      throw new AccessError(AccessErrorCode.Forbidden, refusal);
    }
    const { query, expiresAt } = ctx.links.sign(id, p.name, LINK_SECONDS);
    await ctx.gate.record(Action.ReleaseDownload, 'ok', id, { step: 'link' });
    const base = `${ctx.baseUrl}/releases/${id}`;
    return Object.assign(new DownloadLink(), {
      zipUrl: `${base}/download.zip?${query}`,
      manifestUrl: `${base}/files/manifest.json?${query}`,
      expiresAt,
    });
  }
}
