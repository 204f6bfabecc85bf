"""Partition policies of detection: what a partition does with other partitions' objects.

A policy is a function ``(instances, own) -> instances or None`` registered under the name
``colt.partition_policy`` takes; ``own`` flags the instances of the partition's classes, and
None means the image is not used. Images with no object of the partition are never used. To
add one::

    @register_partition_policy('mine')
    def mine(instances, own):
        ...
"""
from typing import List, Optional

from ...core.table import Table

PARTITION_POLICIES = Table('partition_policy')
register_partition_policy = PARTITION_POLICIES.register  # decorator of a policy function


@register_partition_policy('ignore')
def ignore(instances: List[dict], own: List[bool]) -> List[dict]:
    """Other objects become ignored regions (``ignore_flag=1``): neither foreground nor forced
    to be background (set the assigners' ``ignore_iof_thr`` to use them)."""
    return [inst if mine else dict(inst, ignore_flag=1) for inst, mine in zip(instances, own)]


@register_partition_policy('drop')
def drop(instances: List[dict], own: List[bool]) -> List[dict]:
    """Other objects are removed (they look like background)."""
    return [inst for inst, mine in zip(instances, own) if mine]


@register_partition_policy('exclusive')
def exclusive(instances: List[dict], own: List[bool]) -> Optional[List[dict]]:
    """Only images whose objects all belong to the partition are used."""
    return instances if all(own) else None


def partition_view(policy: str, instances: List[dict], keep_labels) -> Optional[List[dict]]:
    """``instances`` as a partition keeping ``keep_labels`` sees them (None: image unused)."""
    own = [i['bbox_label'] in keep_labels for i in instances]
    if not any(own):
        return None
    return PARTITION_POLICIES[policy](instances, own)
