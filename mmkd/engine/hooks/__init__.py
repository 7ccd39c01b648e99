from .kd_visualization import KDVisualizationHook
from .kd_weight_schedule import KDWeightScheduleHook, kd_weight_at
from .loss_scale import KDLossScaleHook
from .safe_checkpoint import SafeCheckpointHook
from .student_checkpoint import StudentCheckpointHook
from .teacher_metrics import TeacherMetricsHook

__all__ = ['KDLossScaleHook', 'KDVisualizationHook', 'KDWeightScheduleHook',
           'SafeCheckpointHook', 'StudentCheckpointHook', 'TeacherMetricsHook', 'kd_weight_at']
