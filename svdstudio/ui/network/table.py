"""The layer table: each dense and conv layer's kind, shape, parameters, MACs and chosen rank."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.engine.network import LayerFactors
from svdstudio.ui.network.text import count, shape_text

__all__ = ["COLUMNS", "LayerTable", "layer_rows"]

COLUMNS = (
    "layer",
    "kind",
    "shape",
    "matrix",
    "params",
    "MACs",
    "rank",
    "params at k",
    "MACs at k",
)
_TIPS = {
    "shape": "The weight's shape (PyTorch layout: out × in, or out × in × kh × kw)",
    "matrix": "The matrix that is factorised (its singular values are on the spectrum)",
    "params": "Weights and bias of the layer kept whole",
    "MACs": "Multiply-accumulates per sample of the layer kept whole (counted, exact)",
    "rank": "The chosen rank k, or 'whole' when the layer is kept as it is",
    "params at k": "k(rows + cols) + bias at the chosen rank",
    "MACs at k": "Multiply-accumulates per sample of the two layers at the chosen rank",
}


def layer_rows(
    factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]
) -> list[dict[str, object]]:
    """One row of plain values per layer (also what the CSV export writes)."""
    rows = []
    for name, f in factors.items():
        k = ranks.get(name)
        rows.append(
            {
                "layer": name,
                "kind": f.kind if f.kind == "dense" else f"conv ({f.scheme})",
                "shape": f.shape,
                "matrix": f.matrix_shape,
                "params": f.params,
                "MACs": f.macs,
                "rank": k,
                "max_rank": f.max_rank,
                "params at k": f.params if k is None else f.params_at(k),
                "MACs at k": f.macs if k is None else f.macs_at(k),
            }
        )
    return rows


class LayerTable(QtWidgets.QTableWidget):
    """Read-only table of the factorisable layers; selecting a row selects the layer."""

    layer_selected = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("networkLayerTable")
        self.setAccessibleName("Layers")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for i, c in enumerate(COLUMNS):
            item = self.horizontalHeaderItem(i)
            item.setToolTip(_TIPS.get(c, ""))
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setWordWrap(False)
        self._names: list[str] = []
        self._syncing = False
        self.itemSelectionChanged.connect(self._on_selection)

    def names(self) -> list[str]:
        """Layer names, in row order."""
        return list(self._names)

    def show_layers(
        self,
        factors: Mapping[str, LayerFactors],
        ranks: Mapping[str, int | None],
        selected: str | None,
    ) -> None:
        """Fill the table (keeps the selection on ``selected``)."""
        rows = layer_rows(factors, ranks)
        self._syncing = True
        try:
            self.setRowCount(len(rows))
            self._names = [str(r["layer"]) for r in rows]
            for i, r in enumerate(rows):
                values = self._cells(r)
                for j, text in enumerate(values):
                    item = self.item(i, j)
                    if item is None:
                        item = QtWidgets.QTableWidgetItem()
                        self.setItem(i, j, item)
                    item.setText(text)
                    numeric = j >= 4
                    align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
                    item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                    item.setData(Qt.ItemDataRole.UserRole, r[COLUMNS[j]])
            self.select_layer(selected)
        finally:
            self._syncing = False

    @staticmethod
    def _cells(r: dict[str, object]) -> list[str]:
        k = r["rank"]
        return [
            str(r["layer"]),
            str(r["kind"]),
            shape_text(r["shape"]),  # type: ignore[arg-type]
            shape_text(r["matrix"]),  # type: ignore[arg-type]
            count(int(r["params"])),  # type: ignore[arg-type]
            count(int(r["MACs"])),  # type: ignore[arg-type]
            f"whole ({r['max_rank']})" if k is None else f"{k} of {r['max_rank']}",
            count(int(r["params at k"])),  # type: ignore[arg-type]
            count(int(r["MACs at k"])),  # type: ignore[arg-type]
        ]

    def select_layer(self, name: str | None) -> None:
        """Select the row of ``name`` without emitting ``layer_selected``."""
        was = self._syncing
        self._syncing = True
        try:
            if name in self._names:
                self.selectRow(self._names.index(name))
            else:
                self.clearSelection()
        finally:
            self._syncing = was

    def cell_value(self, name: str, column: str) -> object:
        """The plain value behind a cell (for tests): e.g. the params of layer "0"."""
        item = self.item(self._names.index(name), COLUMNS.index(column))
        return item.data(Qt.ItemDataRole.UserRole)

    def _on_selection(self) -> None:
        if self._syncing:
            return
        rows = {i.row() for i in self.selectedIndexes()}
        if len(rows) == 1:
            self.layer_selected.emit(self._names[rows.pop()])
