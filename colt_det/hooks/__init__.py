"""MMEngine hooks of a search stage, one job each (like ``mmdet/engine/hooks``).

They are registered in :data:`colt_det.registry.HOOKS` when MMEngine first looks a ``colt_det``
hook up (the registry's ``locations``); importing this package registers nothing by itself.
"""
