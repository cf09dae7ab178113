"""PySide6 + pyqtgraph application around the workstation engine: windows, widgets, the QThread bridge."""
