/**
 * Scopes and client kinds. Each kind may hold only the scopes listed for it, so that, say, a
 * window system can never be granted audit or admin rights by mistake.
 */
export const clientKinds = ['window', 'department', 'integrator', 'auditor', 'admin'] as const;
export type ClientKind = (typeof clientKinds)[number];

export const scopeDescriptions = {
  'subjects:read': 'Resolve and read subjects (masked)',
  'subjects:write': 'Create subjects and link department identifiers',
  'subjects:unmask': 'See unmasked personal data of subjects',
  'materials:read': 'Read and download materials',
  'materials:write': 'Upload, supersede and revoke materials',
  'certificates:read': 'Fetch certificates from departments',
  'certificates:issue': 'Issue and revoke certificates as a department',
  'contracts:read': 'Read the data-contract catalogue',
  'contracts:write': 'Publish data contracts for the own department',
  'grants:request': 'Request access to conditional resources',
  'grants:decide': 'Approve or deny access grants for the own department',
  'cases:read': 'Read cases',
  'cases:write': 'Open and submit cases',
  'cases:status': 'Push case status as a department',
  'departments:read': 'Read department health',
  'audit:read': 'Read the audit log and data trackers',
  'tracker:issue': "Issue a subject-scoped token for a citizen's own data tracker (portals)",
  'tracker:read': "Read one's own data tracker; only in subject-scoped tokens, never granted to a client",
  'audit:verify': 'Verify the audit hash chain',
  'supervision:read': 'Read supervision figures',
  'metrics:read': 'Scrape Prometheus metrics',
  'clients:admin': 'Register and disable client systems',
  'keys:admin': 'Rotate the gateway signing keys',
  'catalogue:admin': 'Manage item and material catalogues',
  'centres:read': 'Read the service centres, their items and operators',
  'centres:admin': 'Manage service centres, their operators, items and client systems',
} as const;

export type Scope = keyof typeof scopeDescriptions;
export const allScopes = Object.keys(scopeDescriptions) as Scope[];

export function isScope(value: string): value is Scope {
  return Object.hasOwn(scopeDescriptions, value);
}

/** The scopes a client of each kind may be granted (and gets by default when none are named). */
export const scopesAllowedForKind: Record<ClientKind, readonly Scope[]> = {
  window: [
    'subjects:read',
    'subjects:write',
    'subjects:unmask',
    'materials:read',
    'materials:write',
    'certificates:read',
    'contracts:read',
    'grants:request',
    'tracker:issue',
    'cases:read',
    'cases:write',
    'centres:read',
  ],
  department: [
    'subjects:read',
    'subjects:write',
    'subjects:unmask',
    'materials:read',
    'materials:write',
    'certificates:issue',
    'contracts:read',
    'contracts:write',
    'grants:decide',
    'cases:read',
    'cases:status',
    'centres:read',
  ],
  integrator: ['contracts:read', 'contracts:write', 'departments:read'],
  auditor: [
    'audit:read',
    'audit:verify',
    'supervision:read',
    'departments:read',
    'contracts:read',
    'metrics:read',
    'centres:read',
  ],
  admin: [
    'clients:admin',
    'centres:admin',
    'centres:read',
    'keys:admin',
    'catalogue:admin',
    'audit:verify',
    'supervision:read',
    'departments:read',
    'contracts:read',
    'metrics:read',
  ],
};

/** Scopes that must be asked for explicitly; a client of a kind does not get them by default. */
const explicitOnlyScopes: ReadonlySet<Scope> = new Set<Scope>(['subjects:unmask']);

/** Scopes a token carries only when the token request names them. */
export function isExplicitOnlyScope(scope: Scope): boolean {
  return explicitOnlyScopes.has(scope);
}

export function defaultScopesForKind(kind: ClientKind): Scope[] {
  return scopesAllowedForKind[kind].filter((scope) => !explicitOnlyScopes.has(scope));
}
