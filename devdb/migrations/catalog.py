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
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{cat}'::regclass
                  AND d.objid = {oid} AND d.deptype = 'e')
"""
OWN = (
    "{ns} NOT IN (SELECT oid FROM pg_namespace WHERE nspname = 'devdb' "
    "OR nspname LIKE 'pg\\_%')"  # pg_toast, pg_temp_N: storage, not schema
)


def _user(cat: str, oid: str, ns: str | None = None) -> str:
    text = USER.format(cat=cat, oid=oid)
    return text + (" AND " + OWN.format(ns=ns) if ns else "")


SNAPSHOT = f"""
SELECT 'SCHEMA ' || quote_ident(n.nspname), coalesce(n.nspacl::text, '')
FROM pg_namespace n WHERE {_user("pg_namespace", "n.oid")} AND n.nspname <> 'devdb'
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW '
  WHEN 'S' THEN 'SEQUENCE ' WHEN 'f' THEN 'FOREIGN TABLE ' WHEN 'c' THEN 'TYPE '
  ELSE 'TABLE ' END || c.oid::regclass::text,
  concat_ws(E'\\n', c.relkind, c.relpersistence, c.relacl::text, c.reloptions::text,
    c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
    pg_get_expr(c.relpartbound, c.oid),
    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
    (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno)
       FROM pg_inherits i WHERE i.inhrelid = c.oid),
    (SELECT string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid,
        a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity,
        a.attgenerated, co.collname, a.attacl::text, a.attoptions::text), E'\\n'
        ORDER BY a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid
         AND ad.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax,
        s.seqmin, s.seqcache, s.seqcycle) FROM pg_sequence s WHERE s.seqrelid = c.oid))
FROM pg_class c
WHERE {_user("pg_class", "c.oid", "c.relnamespace")} AND c.relkind NOT IN ('i', 'I', 't')
UNION ALL
SELECT 'INDEX ' || c.oid::regclass::text, pg_get_indexdef(c.oid)
FROM pg_class c
WHERE {_user("pg_class", "c.oid", "c.relnamespace")} AND c.relkind IN ('i', 'I')
UNION ALL
SELECT 'CONSTRAINT ' || CASE WHEN r.conrelid <> 0 THEN r.conrelid::regclass::text
  ELSE r.contypid::regtype::text END || '.' || quote_ident(r.conname), pg_get_constraintdef(r.oid)
FROM pg_constraint r WHERE {_user("pg_constraint", "r.oid", "r.connamespace")}
UNION ALL
SELECT 'FUNCTION ' || p.oid::regprocedure::text,
  concat_ws(E'\\n', CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid)
    ELSE (SELECT concat_ws(' ', a.aggtransfn, a.aggfinalfn, a.aggtranstype::regtype,
      a.agginitval, a.aggkind) FROM pg_aggregate a WHERE a.aggfnoid = p.oid) END,
    p.proacl::text)
FROM pg_proc p WHERE {_user("pg_proc", "p.oid", "p.pronamespace")}
UNION ALL
SELECT 'TRIGGER ' || t.tgrelid::regclass::text || '.' || quote_ident(t.tgname),
  pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
FROM pg_trigger t WHERE NOT t.tgisinternal AND {_user("pg_trigger", "t.oid")}
UNION ALL
SELECT 'RULE ' || r.ev_class::regclass::text || '.' || quote_ident(r.rulename),
  pg_get_ruledef(r.oid) || ' ' || r.ev_enabled::text
FROM pg_rewrite r WHERE r.rulename <> '_RETURN' AND {_user("pg_rewrite", "r.oid")}
UNION ALL
SELECT 'POLICY ' || p.polrelid::regclass::text || '.' || quote_ident(p.polname),
  concat_ws(' ', p.polcmd, p.polpermissive, p.polroles::regrole[]::text,
    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
FROM pg_policy p WHERE {_user("pg_policy", "p.oid")}
UNION ALL
SELECT 'TYPE ' || t.oid::regtype::text,
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
SELECT 'EXTENSION ' || quote_ident(x.extname),
  x.extversion || ' ' || x.extnamespace::regnamespace::text
FROM pg_extension x WHERE x.oid >= 16384
UNION ALL
SELECT 'DEFAULT PRIVILEGES ' || d.defaclrole::regrole::text || ' '
  || coalesce(d.defaclnamespace::regnamespace::text, '*') || ' ' || d.defaclobjtype::text,
  d.defaclacl::text
FROM pg_default_acl d
UNION ALL
SELECT 'COMMENT ' || pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
FROM pg_description d WHERE d.objoid >= 16384
UNION ALL
SELECT 'OBJECT ' || pg_describe_object(o.classid, o.objid, 0), ''
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
WHERE o.objid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.classid
  AND d.objid = o.objid AND d.deptype = 'e')
"""


def snapshot(conn: Conn) -> dict[str, str]:
    """``{"KIND identity": definition}`` of every user object of the connected database (names
    schema-qualified: the snapshot runs with an empty search_path)."""
    out: dict[str, str] = {}
    with conn.transaction():
        conn.execute("SET LOCAL search_path = ''")
        rows = conn.execute(SNAPSHOT).fetchall()
    for key, definition in rows:
        name = str(key)
        while name in out:  # same identity twice (overloaded in text only): keep both
            name += "'"
        out[name] = "" if definition is None else str(definition)
    return out
