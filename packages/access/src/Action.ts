/** Every operation the API and CLI guard, named `area.verb`. */
export enum Action {
  CohortQuery = 'cohort.query',
  CohortSave = 'cohort.save',
  CohortRead = 'cohort.read',
  StudyView = 'study.view',
  ShareRequest = 'share.request',
  ShareDecide = 'share.decide',
  ShareRevoke = 'share.revoke',
  ShareList = 'share.list',
  ReleaseList = 'release.list',
  ReleaseDownload = 'release.download',
  ModelRun = 'model.run',
  /**
   * Cancels a prediction job; a researcher only their own (the resolver
   * checks the job's owner), a steward or an admin any.
   */
  ModelCancel = 'model.cancel',
  ModelManage = 'model.manage',
  Ingest = 'ingest',
  /**
   * Receives objects another lpacs de-identified (`lpacs sync`); they are
   * stored as received, so only an admin (or a token scoped to it) may.
   */
  SyncReceive = 'sync.receive',
  UserManage = 'user.manage',
  TokenOwn = 'token.own',
  AuditRead = 'audit.read',
  SqlExplain = 'sql.explain',
  /** Lake status and the quarantine with its reasons and source paths. */
  LakeStatus = 'lake.status',
  /** Looks up the original identifiers behind a pseudonym. */
  LinkageUse = 'linkage.use',
}

export const ACTIONS: readonly Action[] = Object.values(Action);
