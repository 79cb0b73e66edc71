"""The transparency toolkit: see, check and explain what training does."""

from glassnet.diagnostics._context import record_layers
from glassnet.diagnostics.anomaly import (
    AnomalyDetector,
    AnomalyReport,
    NonFiniteError,
    detect_anomaly,
)
from glassnet.diagnostics.diagnosis import Diagnosis, Finding
from glassnet.diagnostics.doctor import doctor
from glassnet.diagnostics.explain import backprop_steps, explain, explanation
from glassnet.diagnostics.gradcheck import GradcheckReport, gradcheck
from glassnet.diagnostics.graph import Graph, graph
from glassnet.diagnostics.lr_finder import lr_find
from glassnet.diagnostics.watch import Watch, watch
