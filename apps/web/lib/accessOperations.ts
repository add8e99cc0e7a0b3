/** GraphQL documents of the signed-in user, users, tokens and the audit log. */

export const ME = 'query Me { me { name role } }';

const USER = 'id name role createdAt disabledAt';
const TOKEN = 'id kind label scopes createdAt expiresAt revokedAt';

export const USERS = `query Users { users { ${USER} } }`;

export const ADD_USER = `mutation AddUser($name: String!, $role: String!, $password: String) {
  addUser(name: $name, role: $role, password: $password) {
    user { ${USER} }
    password
  }
}`;

export const DISABLE_USER = `mutation DisableUser($name: String!) {
  disableUser(name: $name)
}`;

export const TOKENS = `query Tokens { tokens { ${TOKEN} } }`;

export const CREATE_TOKEN = `mutation CreateToken($label: String!, $days: Int!) {
  createToken(label: $label, expiresInDays: $days) {
    info { ${TOKEN} }
    token
  }
}`;

export const REVOKE_TOKEN = `mutation RevokeToken($id: String!) {
  revokeToken(id: $id)
}`;

export const AUDIT_LOG = `query AuditLog(
  $actor: String, $action: String, $from: String, $to: String, $limit: Int
) {
  auditLog(actor: $actor, action: $action, from: $from, to: $to, limit: $limit) {
    seq at actor role action target outcome detail
  }
}`;

export const VERIFY_AUDIT =
  'query VerifyAudit { verifyAudit { entries head } }';
