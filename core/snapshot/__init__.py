"""Content-addressed project snapshots: what a run executes, taken at submit time.

``ContentStore(<project>/.deck/store).snapshot(project_dir)`` records the project's files (minus
what ``.gitignore`` / ``.amlignore`` exclude) as blobs by sha256 plus one manifest whose sha256
is the snapshot's fingerprint; ``materialize`` writes a snapshot out for a run.
"""

from launchdeck.core.snapshot.ignore import IgnoreRules
from launchdeck.core.snapshot.manifest import Manifest, ManifestEntry
from launchdeck.core.snapshot.store import ContentStore, SnapshotResult

__all__ = ["ContentStore", "IgnoreRules", "Manifest", "ManifestEntry", "SnapshotResult"]
