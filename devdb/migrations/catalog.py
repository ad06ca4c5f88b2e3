"""A schema snapshot read from the catalogs in one query: what ``db.migrate.verify`` compares.

Each user object (OID >= 16384, outside devdb's own schema, not a member of an extension) becomes
one ``{"KIND schema.name": definition}`` entry. Definitions come from PostgreSQL's own
``pg_get_*def`` functions plus privileges (ACLs, column ACLs, default privileges), comments,
column order, defaults, identity, storage options and partitioning, so what pg_dump would show
differently shows here differently. No OIDs appear in a definition: a Down that drops and
recreates an object exactly as it was compares equal. Every other kind of object (operators,
casts, collations, text search, statistics, publications, ...) is compared by identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[Any]

USER = """
  {oid} >= 16384
  AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = '{cat}'::regclass AND e.objid = {oid})
"""
OWN = (
    "{ns} NOT IN (SELECT oid FROM pg_namespace WHERE nspname = 'devdb' "
    "OR left(nspname, 3) = 'pg_')"  # pg_toast, pg_temp_N: storage, not schema
)


def _user(cat: str, oid: str, ns: str | None = None) -> str:
    text = USER.format(cat=cat, oid=oid)
    return text + (" AND " + OWN.format(ns=ns) if ns else "")


# Every user relation (indexes too) with a stamp: the xmin of each catalog row its definition
# is read from (its pg_class row, its schema's, its columns', defaults', parents', view rule's,
# sequence's, pg_index's). A row that changes gets a new xmin, so an unchanged stamp means an
# unchanged definition, which a later snapshot takes from the earlier one instead of asking the
# server to deparse it again.
REL = f"""
rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, concat_ws('/', c.xmin, n.xmin, a.s, d.s, i.s, r.s, s.xmin, x.xmin)
    AS stamp
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN (SELECT attrelid, string_agg(xmin::text, ',' ORDER BY attnum) AS s
             FROM pg_attribute WHERE attnum > 0 AND attrelid >= 16384 GROUP BY attrelid) a
    ON a.attrelid = c.oid
  LEFT JOIN (SELECT adrelid, string_agg(xmin::text, ',') AS s FROM pg_attrdef
             GROUP BY adrelid) d ON d.adrelid = c.oid
  LEFT JOIN (SELECT inhrelid, string_agg(xmin::text, ',') AS s FROM pg_inherits
             GROUP BY inhrelid) i ON i.inhrelid = c.oid
  LEFT JOIN (SELECT ev_class, string_agg(xmin::text, ',') AS s FROM pg_rewrite
             WHERE rulename = '_RETURN' GROUP BY ev_class) r ON r.ev_class = c.oid
  LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
  LEFT JOIN pg_index x ON x.indexrelid = c.oid
  WHERE {_user("pg_class", "c.oid", "c.relnamespace")} AND c.relkind <> 't'
)"""

SNAPSHOT = f"""
WITH known AS (SELECT unnest(%s::text[]) AS v),
ext AS MATERIALIZED (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
{REL}
SELECT NULL, 'SCHEMA ' || quote_ident(n.nspname), coalesce(n.nspacl::text, '')
FROM pg_namespace n WHERE {_user("pg_namespace", "n.oid")} AND n.nspname <> 'devdb'
UNION ALL
SELECT q.id, CASE WHEN k.v IS NULL THEN CASE q.relkind WHEN 'v' THEN 'VIEW '
  WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'S' THEN 'SEQUENCE ' WHEN 'f' THEN 'FOREIGN TABLE '
  WHEN 'c' THEN 'TYPE ' ELSE 'TABLE ' END || q.oid::regclass::text END,
  CASE WHEN k.v IS NULL THEN concat_ws(E'\\n', q.relkind, q.relpersistence, q.relacl::text,
    q.reloptions::text, q.relrowsecurity, q.relforcerowsecurity, q.relreplident,
    pg_get_expr(q.relpartbound, q.oid),
    CASE WHEN q.relkind = 'p' THEN pg_get_partkeydef(q.oid) END,
    CASE WHEN q.relkind IN ('v', 'm') THEN pg_get_viewdef(q.oid) END,
    (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno)
       FROM pg_inherits i WHERE i.inhrelid = q.oid),
    (SELECT string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid,
        a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity,
        a.attgenerated, co.collname, a.attacl::text, a.attoptions::text), E'\\n'
        ORDER BY a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid
         AND ad.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
       WHERE a.attrelid = q.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax,
        s.seqmin, s.seqcache, s.seqcycle) FROM pg_sequence s WHERE s.seqrelid = q.oid)) END
FROM (SELECT c.*, 'R' || r.oid || ':' || r.stamp AS id FROM rel r JOIN pg_class c ON c.oid = r.oid
      WHERE r.relkind NOT IN ('i', 'I')) q
LEFT JOIN known k ON k.v = q.id
UNION ALL
SELECT q.id, CASE WHEN k.v IS NULL THEN 'INDEX ' || q.oid::regclass::text END,
  CASE WHEN k.v IS NULL THEN pg_get_indexdef(q.oid) END
FROM (SELECT r.oid, 'I' || r.oid || ':' || r.stamp || '|' || t.stamp AS id
      FROM rel r JOIN pg_index x ON x.indexrelid = r.oid JOIN rel t ON t.oid = x.indrelid) q
LEFT JOIN known k ON k.v = q.id
UNION ALL
SELECT q.id, CASE WHEN k.v IS NULL THEN 'CONSTRAINT ' || CASE WHEN q.conrelid <> 0
  THEN q.conrelid::regclass::text ELSE q.contypid::regtype::text END || '.'
  || quote_ident(q.conname) END,
  CASE WHEN k.v IS NULL THEN pg_get_constraintdef(q.oid) END
FROM (SELECT r.oid, r.conrelid, r.contypid, r.conname, concat_ws('|', 'C' || r.oid || ':'
        || r.xmin, t.stamp, f.stamp) AS id
      FROM pg_constraint r LEFT JOIN rel t ON t.oid = r.conrelid
      LEFT JOIN rel f ON f.oid = r.confrelid
      WHERE {_user("pg_constraint", "r.oid", "r.connamespace")}) q
LEFT JOIN known k ON k.v = q.id
UNION ALL
SELECT q.id, CASE WHEN k.v IS NULL THEN 'TRIGGER ' || q.tgrelid::regclass::text || '.'
  || quote_ident(q.tgname) END,
  CASE WHEN k.v IS NULL THEN pg_get_triggerdef(q.oid) || ' ' || q.tgenabled::text END
FROM (SELECT t.oid, t.tgrelid, t.tgname, t.tgenabled,
        'T' || t.oid || ':' || t.xmin || '|' || r.stamp AS id
      FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal) q
LEFT JOIN known k ON k.v = q.id
UNION ALL
SELECT NULL, 'FUNCTION ' || p.oid::regprocedure::text,
  concat_ws(E'\\n', CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid)
    ELSE (SELECT concat_ws(' ', a.aggtransfn, a.aggfinalfn, a.aggtranstype::regtype,
      a.agginitval, a.aggkind) FROM pg_aggregate a WHERE a.aggfnoid = p.oid) END,
    p.proacl::text)
FROM pg_proc p WHERE {_user("pg_proc", "p.oid", "p.pronamespace")}
UNION ALL
SELECT NULL, 'RULE ' || r.ev_class::regclass::text || '.' || quote_ident(r.rulename),
  pg_get_ruledef(r.oid) || ' ' || r.ev_enabled::text
FROM pg_rewrite r WHERE r.rulename <> '_RETURN' AND {_user("pg_rewrite", "r.oid")}
UNION ALL
SELECT NULL, 'POLICY ' || p.polrelid::regclass::text || '.' || quote_ident(p.polname),
  concat_ws(' ', p.polcmd, p.polpermissive, p.polroles::regrole[]::text,
    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
FROM pg_policy p WHERE {_user("pg_policy", "p.oid")}
UNION ALL
SELECT NULL, 'TYPE ' || t.oid::regtype::text,
  concat_ws(E'\\n', t.typtype, t.typacl::text, format_type(t.typbasetype, t.typtypmod),
    t.typnotnull, t.typdefault,
    (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
       FROM pg_enum e WHERE e.enumtypid = t.oid),
    (SELECT concat_ws(' ', r.rngsubtype::regtype, r.rngcollation, r.rngsubopc)
       FROM pg_range r WHERE r.rngtypid = t.oid))
FROM pg_type t
WHERE {_user("pg_type", "t.oid", "t.typnamespace")} AND t.typtype IN ('e', 'd', 'r', 'b', 'm')
  AND t.typcategory <> 'A'
UNION ALL
SELECT NULL, 'EXTENSION ' || quote_ident(x.extname),
  x.extversion || ' ' || x.extnamespace::regnamespace::text
FROM pg_extension x WHERE x.oid >= 16384
UNION ALL
SELECT NULL, 'DEFAULT PRIVILEGES ' || d.defaclrole::regrole::text || ' '
  || coalesce(d.defaclnamespace::regnamespace::text, '*') || ' ' || d.defaclobjtype::text,
  d.defaclacl::text
FROM pg_default_acl d
UNION ALL
SELECT NULL, 'COMMENT ' || pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
FROM pg_description d WHERE d.objoid >= 16384
UNION ALL
SELECT NULL, 'OBJECT ' || pg_describe_object(o.classid, o.objid, 0), ''
FROM (
  SELECT 'pg_operator'::regclass AS classid, oid AS objid FROM pg_operator
  UNION ALL SELECT 'pg_cast'::regclass, oid FROM pg_cast
  UNION ALL SELECT 'pg_collation'::regclass, oid FROM pg_collation
  UNION ALL SELECT 'pg_conversion'::regclass, oid FROM pg_conversion
  UNION ALL SELECT 'pg_opclass'::regclass, oid FROM pg_opclass
  UNION ALL SELECT 'pg_opfamily'::regclass, oid FROM pg_opfamily
  UNION ALL SELECT 'pg_ts_config'::regclass, oid FROM pg_ts_config
  UNION ALL SELECT 'pg_ts_dict'::regclass, oid FROM pg_ts_dict
  UNION ALL SELECT 'pg_statistic_ext'::regclass, oid FROM pg_statistic_ext
  UNION ALL SELECT 'pg_event_trigger'::regclass, oid FROM pg_event_trigger
  UNION ALL SELECT 'pg_publication'::regclass, oid FROM pg_publication
  UNION ALL SELECT 'pg_foreign_server'::regclass, oid FROM pg_foreign_server
  UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid FROM pg_foreign_data_wrapper
  UNION ALL SELECT 'pg_language'::regclass, oid FROM pg_language
  UNION ALL SELECT 'pg_transform'::regclass, oid FROM pg_transform
) o
WHERE o.objid >= 16384 AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = o.classid
  AND e.objid = o.objid)
"""


class Snapshots:
    """Snapshots of one database, each reusing the definitions of unchanged relations, indexes,
    constraints and triggers from the one before."""

    def __init__(self) -> None:
        self.known: dict[str, tuple[str, str]] = {}

    def take(self, conn: Conn) -> dict[str, str]:
        """``{"KIND identity": definition}`` of every user object of the connected database
        (names schema-qualified: the snapshot runs with an empty search_path)."""
        with conn.transaction():
            # hash joins: the planner's nested loops over the stamp CTE grow with the square
            conn.execute("SET LOCAL search_path = ''; SET LOCAL enable_nestloop = off")
            rows = conn.execute(SNAPSHOT, (list(self.known),)).fetchall()
        out: dict[str, str] = {}
        seen: dict[str, tuple[str, str]] = {}
        for ident, key, definition in rows:
            entry = (str(key), str(definition or "")) if key is not None else self.known[ident]
            if ident is not None:
                seen[ident] = entry
            name = entry[0]
            while name in out:  # the same identity twice (overloads alike in text): keep both
                name += "'"
            out[name] = entry[1]
        self.known = seen
        return out


def snapshot(conn: Conn) -> dict[str, str]:
    """A snapshot taken from scratch (see ``Snapshots.take``)."""
    return Snapshots().take(conn)
