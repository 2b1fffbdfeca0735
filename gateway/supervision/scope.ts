/**
 * Which part of the centre tree a supervision read covers, and the SQL condition that keeps a
 * query's cases within it.
 */
import { sql } from 'drizzle-orm';
import type { CentreDirectory, CentreRow } from '../access/reference-data.js';
import type { Principal } from '../auth/principal.js';
import { requireCentre } from '../centres/centres.js';
import { ApiError, message } from '../platform/errors.js';

/** The part of the tree a supervision read covers: a centre and everything below it. */
export interface SupervisionScope {
  code: string;
  name: string;
  level: CentreRow['level'];
  /** Path prefix of the subtree (`/610000000/610100000/`). */
  path: string;
}

const scopeOf = (centre: CentreRow): SupervisionScope => ({
  code: centre.code,
  name: centre.name,
  level: centre.level,
  path: centre.path,
});

/**
 * The scope of a supervision read: the centre asked for, which must lie within the caller's own
 * (a supervisor registered at a centre sees its subtree; one of no centre, the whole province);
 * without one, the caller's centre, or null for the whole province.
 */
export function supervisionScope(
  directory: CentreDirectory,
  principal: Principal,
  requested: string | undefined,
): SupervisionScope | null {
  const [own] = directory.clientCentres.get(principal.clientId) ?? [];
  const ownCentre = own === undefined ? undefined : directory.centres.get(own);
  if (requested === undefined) return ownCentre ? scopeOf(ownCentre) : null;
  const centre = requireCentre(directory, requested);
  if (ownCentre && !centre.path.startsWith(ownCentre.path)) {
    throw new ApiError(
      'centre_outside_your_tree',
      message('supervision.outside_subtree', { requested, ownCentre: ownCentre.code }),
      {
        centreCode: requested,
        yourCentre: ownCentre.code,
      },
    );
  }
  return scopeOf(centre);
}

/** The SQL condition "case `alias` is handled within the scope" (true for the whole province). */
export function caseInScope(scope: SupervisionScope | null, alias = 'c'): ReturnType<typeof sql> {
  if (scope === null) return sql`true`;
  // `is not null` lets PostgreSQL use the partial indexes on the centre columns.
  return sql`${sql.raw(alias)}.centre_code is not null and ${sql.raw(alias)}.centre_code in (select code from centres where path like ${`${scope.path}%`})`;
}
