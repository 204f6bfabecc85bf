"""The tasks a search can run (``colt.task``): one subpackage each, registered in
:data:`colt_det.registry.TASKS`; :mod:`colt_det.tasks.base` holds the interface."""
