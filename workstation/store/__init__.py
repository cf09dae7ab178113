"""The Parquet bar store, the vendor-file importer (validation + quarantine) and the demo-data generator.

The names below are imported on first use (PEP 562), so importing one light submodule (the lock,
the CLI's command definitions) does not load pandas and pyarrow through the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workstation.lazy_modules import lazy_exports

if TYPE_CHECKING:
    from workstation.store.bar_store import BarStore, SessionArrays, StoreWriteError, WriteResult
    from workstation.store.demo import DemoSummary, ensure_demo_data, generate_demo
    from workstation.store.importer import ImportSummary, import_files
    from workstation.store.lock import StoreLockedError, StoreWriteLock
    from workstation.store.schema import BAR_SCHEMA

_LAZY = {
    "BAR_SCHEMA": "workstation.store.schema",
    "BarStore": "workstation.store.bar_store",
    "SessionArrays": "workstation.store.bar_store",
    "StoreWriteError": "workstation.store.bar_store",
    "WriteResult": "workstation.store.bar_store",
    "DemoSummary": "workstation.store.demo",
    "ensure_demo_data": "workstation.store.demo",
    "generate_demo": "workstation.store.demo",
    "ImportSummary": "workstation.store.importer",
    "import_files": "workstation.store.importer",
    "StoreLockedError": "workstation.store.lock",
    "StoreWriteLock": "workstation.store.lock",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
