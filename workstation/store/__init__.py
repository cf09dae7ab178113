"""The Parquet bar store, the vendor-file importer (validation + quarantine) and the demo-data generator."""

from workstation.store.bar_store import BarStore, SessionArrays, StoreWriteError, WriteResult
from workstation.store.demo import DemoSummary, ensure_demo_data, generate_demo
from workstation.store.importer import ImportSummary, import_files
from workstation.store.lock import StoreLockedError, StoreWriteLock
from workstation.store.schema import BAR_SCHEMA

__all__ = [
    "BAR_SCHEMA",
    "BarStore",
    "DemoSummary",
    "ImportSummary",
    "SessionArrays",
    "StoreLockedError",
    "StoreWriteError",
    "StoreWriteLock",
    "WriteResult",
    "ensure_demo_data",
    "generate_demo",
    "import_files",
]
