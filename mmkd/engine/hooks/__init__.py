from .kd_weight_schedule import KDWeightScheduleHook, kd_weight_at

__all__ = ['KDWeightScheduleHook', 'kd_weight_at']
