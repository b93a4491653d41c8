"""The Network tab's two control rows: what is shown (network, data, method, scheme, export)
and how ranks are chosen for every layer at once (energy, budget by rule, all whole)."""

from __future__ import annotations

from PySide6 import QtWidgets
from PySide6.QtCore import Signal

from svdstudio.engine.network import RULE_TITLES, RULES
from svdstudio.io.networks import BUNDLED_NETWORKS

__all__ = ["BUNDLED_TITLES", "NetworkControls"]

BUNDLED_TITLES = {
    "digits-mlp": "Digits MLP (64-256-128-10)",
    "digits-cnn": "Digits CNN (2 conv, 2 dense)",
    "mnist-mlp": "MNIST-5k MLP (784-256-128-10)",
    "mnist-cnn": "MNIST-5k CNN (2 conv, 2 dense)",
}
METHOD_TITLES = {"plain": "Plain SVD", "data-aware": "Data-aware SVD"}
SCHEME_TITLES = {"spatial": "Spatial (kh×1, 1×kw)", "channel": "Channel (kh×kw, 1×1)"}
EXPORTS = (
    ("network", "Compressed network (.safetensors)…"),
    ("table", "Layer table (.csv)…"),
    ("curves", "Accuracy curves (.csv)…"),
    ("rank-plot", "Accuracy-vs-rank plot (.png, .svg)…"),
    ("budget-plot", "Accuracy-vs-budget plot (.png, .svg)…"),
)


def _label(text: str, buddy: QtWidgets.QWidget) -> QtWidgets.QLabel:
    lab = QtWidgets.QLabel(text)
    lab.setBuddy(buddy)
    return lab


def _elide(combo: QtWidgets.QComboBox, chars: int) -> None:
    # Grow to the longest title when there is room, shrink to ``chars`` on a small screen.
    combo.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    combo.setMinimumContentsLength(chars)
    combo.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
    longest = max((combo.itemText(i) for i in range(combo.count())), key=len, default="")
    combo.setMaximumWidth(combo.fontMetrics().horizontalAdvance(longest) + 48)


class NetworkControls(QtWidgets.QWidget):
    """Combos, spin boxes and buttons; the tab connects them to the session."""

    export_requested = Signal(str)  # one of the EXPORTS kinds
    energy_requested = Signal(float)  # fraction 0–1
    budget_requested = Signal(float, str)  # fraction, rule
    whole_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.network_combo = QtWidgets.QComboBox()
        self.network_combo.setObjectName("networkCombo")
        self.network_combo.setAccessibleName("Network")
        self.network_combo.setToolTip("A bundled network, a file you opened, or Open file…")
        for name in BUNDLED_NETWORKS:
            self.network_combo.addItem(BUNDLED_TITLES.get(name, name), name)
        self.network_combo.insertSeparator(self.network_combo.count())
        self.network_combo.addItem("Open file…", "open")
        _elide(self.network_combo, 16)
        self.data_button = QtWidgets.QPushButton("Data…")
        self.data_button.setObjectName("networkDataButton")
        self.data_button.setAccessibleName("Open labelled data")
        self.data_button.setToolTip(
            "Score on your own data: an .npz with x (N × features or N × C × H × W) and integer "
            "labels y; a seeded half calibrates, the other half is scored"
        )
        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.setObjectName("networkMethodCombo")
        self.method_combo.setAccessibleName("SVD method")
        for key, title in METHOD_TITLES.items():
            self.method_combo.addItem(title, key)
        self.method_combo.setToolTip(
            "Plain: the SVD of the weight matrix. Data-aware: of the weights whitened by the "
            "layer's input covariance on calibration data (never the test split), bias corrected"
        )
        self.scheme_combo = QtWidgets.QComboBox()
        self.scheme_combo.setObjectName("networkConvCombo")
        self.scheme_combo.setAccessibleName("Convolution factorisation")
        for key, title in SCHEME_TITLES.items():
            self.scheme_combo.addItem(title, key)
        self.scheme_combo.setToolTip(
            "Spatial (Jaderberg et al.): a kh×1 convolution to k channels, then 1×kw.\n"
            "Channel (Zhang et al.): a kh×kw convolution to k channels, then 1×1."
        )
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_button.setObjectName("networkExportButton")
        self.export_button.setAccessibleName("Export")
        self.export_button.setToolTip("Save the compressed network, the tables or the plots")
        menu = QtWidgets.QMenu(self.export_button)
        for kind, text in EXPORTS:
            act = menu.addAction(text)
            act.triggered.connect(lambda _c=False, k=kind: self.export_requested.emit(k))
        self.export_button.setMenu(menu)
        self.export_button.setMinimumWidth(self.export_button.sizeHint().width() + 16)

        self.energy_spin = QtWidgets.QDoubleSpinBox()
        self.energy_spin.setObjectName("networkEnergySpin")
        self.energy_spin.setAccessibleName("Energy kept by every layer")
        self.energy_spin.setRange(1.0, 100.0)
        self.energy_spin.setDecimals(1)
        self.energy_spin.setValue(90.0)
        self.energy_spin.setSuffix(" %")
        self.energy_spin.setToolTip("Each layer keeps the smallest rank with this much energy")
        energy_apply = QtWidgets.QPushButton("Apply")
        energy_apply.setObjectName("networkEnergyApply")
        energy_apply.setAccessibleName("Apply the energy threshold")
        energy_apply.setToolTip("Give every layer the smallest rank that keeps this energy")
        energy_apply.clicked.connect(
            lambda: self.energy_requested.emit(self.energy_spin.value() / 100)
        )
        self.budget_spin = QtWidgets.QDoubleSpinBox()
        self.budget_spin.setObjectName("networkBudgetSpin")
        self.budget_spin.setAccessibleName("Budget")
        self.budget_spin.setRange(1.0, 100.0)
        self.budget_spin.setDecimals(1)
        self.budget_spin.setValue(10.0)
        self.budget_spin.setSuffix(" %")
        self.budget_spin.setToolTip("Keep this fraction of the factorised layers' cost")
        self.cost_combo = QtWidgets.QComboBox()
        self.cost_combo.setObjectName("networkCostCombo")
        self.cost_combo.setAccessibleName("Budget counts")
        self.cost_combo.setToolTip("The budget counts parameters or multiply-accumulates")
        self.cost_combo.addItem("parameters", "params")
        self.cost_combo.addItem("MACs", "macs")
        self.rule_combo = QtWidgets.QComboBox()
        self.rule_combo.setObjectName("networkRuleCombo")
        self.rule_combo.setAccessibleName("Allocation rule")
        self.rule_combo.setToolTip(
            "How the budget is spread over the layers; the greedy rule needs its per-layer "
            "accuracy tables (Compute under the budget plot)"
        )
        for rule in RULES:
            self.rule_combo.addItem(RULE_TITLES[rule], rule)
        self.rule_combo.setCurrentIndex(RULES.index("global"))
        _elide(self.rule_combo, 14)
        _elide(self.scheme_combo, 10)
        _elide(self.method_combo, 10)
        budget_apply = QtWidgets.QPushButton("Apply")
        budget_apply.setObjectName("networkBudgetApply")
        budget_apply.setAccessibleName("Apply the budget")
        budget_apply.setToolTip("Choose every layer's rank for this budget by this rule")
        budget_apply.clicked.connect(
            lambda: self.budget_requested.emit(
                self.budget_spin.value() / 100, str(self.rule_combo.currentData())
            )
        )
        whole = QtWidgets.QPushButton("All whole")
        whole.setObjectName("networkAllWhole")
        whole.setAccessibleName("Keep every layer whole")
        whole.setToolTip("Keep every layer as it is (no factorisation)")
        whole.clicked.connect(self.whole_requested)

        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(_label("&Network:", self.network_combo))
        top.addWidget(self.network_combo, 1)
        top.addWidget(self.data_button)
        top.addSpacing(12)
        top.addWidget(_label("&Method:", self.method_combo))
        top.addWidget(self.method_combo, 1)
        top.addWidget(_label("&Convolutions:", self.scheme_combo))
        top.addWidget(self.scheme_combo, 1)
        top.addStretch(0)
        top.addWidget(self.export_button)
        ranks = QtWidgets.QHBoxLayout()
        ranks.setContentsMargins(0, 0, 0, 0)
        ranks.addWidget(QtWidgets.QLabel("<b>All layers:</b>"))
        ranks.addWidget(_label("&Energy", self.energy_spin))
        ranks.addWidget(self.energy_spin)
        ranks.addWidget(energy_apply)
        ranks.addSpacing(16)
        ranks.addWidget(_label("&Budget", self.budget_spin))
        ranks.addWidget(self.budget_spin)
        ranks.addWidget(QtWidgets.QLabel("of the"))
        ranks.addWidget(self.cost_combo)
        ranks.addWidget(QtWidgets.QLabel("by"))
        ranks.addWidget(self.rule_combo, 1)
        ranks.addWidget(budget_apply)
        ranks.addSpacing(16)
        ranks.addWidget(whole)
        ranks.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addLayout(ranks)

    def add_user_file(self, path: str, title: str) -> None:
        """Put a user's file in the network list (once), before Open file…."""
        for i in range(self.network_combo.count()):
            if self.network_combo.itemData(i) == path:
                return
        self.network_combo.insertItem(self.network_combo.count() - 1, title, path)
        self.network_combo.setItemData(self.network_combo.count() - 2, path, 3)  # tooltip

    def select_source(self, source: str | None) -> None:
        """Show ``source`` (a bundled name or a path) as the current item."""
        for i in range(self.network_combo.count()):
            if self.network_combo.itemData(i) == source:
                self.network_combo.setCurrentIndex(i)
                return
