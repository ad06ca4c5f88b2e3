"""The one owner of the databases devdb creates, renames or drops.

Everything that makes or moves a database devdb manages lives here: the project database when it
is replaced (reset, snapshot restore, load, undo), the undo copy, snapshots, spares, templates and
the test databases of the pytest plugin. Callers say *what* they want; how names move is decided
here, by one protocol (``swap``): build the new copy completely under a temporary name that names
its owner (``names``), swap names in one transaction, retire what was replaced after the commit;
every command sweeps the temporaries of owners that are gone. Crash points (``faults``) let the
test suite kill devdb at each step.

- ``names``: per-project undo and snapshot names; temporaries, their owners' leases, the sweep.
- ``swap``: the build / swap / retire protocol, and the error when the server goes away.
- ``faults``: named crash points (``DEVDB_FAULT=POINT:kill|int|term|pause``), for tests.
- ``dbops``: database-level operations on one admin connection (metadata, rename, drop,
  disconnect). ``dbops.clone_database(conn, template, name, owner)`` is the one function that
  copies a database to a new name, privileges included: every copy (reset, snapshots, spares,
  test databases) goes through it, so a faster way to copy plugs in there (``clone``).
- ``reset``: templates keyed by a digest of their inputs, and reset itself.
- ``snapshots``: named snapshots and the undo.
- ``spare``: copies made ahead of time, so the next reset or restore is a rename.
- ``testpool``: the pytest plugin's ``fresh_db`` databases, cloned ahead of time.
- ``pgdump``: ``db.dump`` / ``db.load`` (restored into a temporary, swapped in when complete).
- ``scratch``: empty databases that live for one command (verify, schema checks).
"""
