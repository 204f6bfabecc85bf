# IMP / LTH baseline for configs/colt_resnet18_cifar10.py: same theta0 (seed), model, budget.
_base_ = ['./colt_resnet18_cifar10.py']
colt = dict(method='imp', num_partitions=1)
work_dir = 'work_dirs/lth_resnet18_cifar10'
