"""DistillHook: the final training learns from the dense parent's FPN features (PKD)."""
import torch
from mmengine.hooks import Hook

from ..core.apply import unwrap
from ..registry import HOOKS
from ..runtime.evaluate import load_teacher


def pkd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """PKD (Cao et al., NeurIPS 2022): both maps normalised per channel over (N, H, W), then
    half their mean squared difference, which is 1 - the mean Pearson correlation."""
    def norm(x):
        n, c, h, w = x.shape
        x = x.transpose(0, 1).reshape(c, -1)
        x = (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-6)
        return x
    return torch.nn.functional.mse_loss(norm(student), norm(teacher)) / 2


@HOOKS.register_module()
class DistillHook(Hook):
    """Adds ``fpn_weight`` x the PKD loss between the student's and the teacher's neck outputs
    (every level) to the detector's training loss (``loss_distill``).

    The teacher is built from the stage's own model config (the dense parent of a ticket has
    the student's architecture: a channel ticket is trained full-width under its mask), its
    weights loaded from ``teacher`` (strict), in eval mode without gradients. It is held by the
    hook, not by the model, so no teacher weight reaches a checkpoint, a ticket or a slim
    export, and the masks keep the student's parameter names. It is loaded anew when a stage
    resumes. Where the student's maps differ in shape from the teacher's (a neck narrowed at
    its outputs) it stops with one line: a 1x1 connector is not built.

    Args:
        teacher (str): the teacher's checkpoint (e.g. the dense run's ``final_masked.pth``).
        fpn_weight (float): the weight of the PKD loss of each neck level.
    """

    priority = 'NORMAL'

    def __init__(self, teacher: str, fpn_weight: float = 6.0) -> None:
        self.teacher_path = teacher
        self.fpn_weight = float(fpn_weight)
        self._model = None

    def before_train(self, runner) -> None:
        student = unwrap(runner.model)
        teacher = load_teacher(runner, self.teacher_path, student)  # held by the closures only
        self._model = student
        loss, extract = student.loss, student.extract_feat
        captured = {}

        def extract_feat(batch_inputs):
            captured['feats'] = extract(batch_inputs)
            captured['inputs'] = batch_inputs
            return captured['feats']

        def distilled_loss(batch_inputs, batch_data_samples):
            losses = loss(batch_inputs, batch_data_samples)
            if 'feats' in captured:
                with torch.no_grad():
                    target = teacher.extract_feat(captured['inputs'])
                losses['loss_distill'] = self.fpn_weight * sum(
                    pkd_loss(s, _same_shape(s, t)) for s, t in zip(captured['feats'], target))
            captured.clear()
            return losses
        student.extract_feat = extract_feat  # instance attributes: the class stays as it is
        student.loss = distilled_loss

    def after_train(self, runner) -> None:
        self._release()

    def _release(self) -> None:
        if self._model is not None:
            for name in ('loss', 'extract_feat'):
                self._model.__dict__.pop(name, None)
        self._model = None


def _same_shape(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    if student.shape != teacher.shape:
        raise ValueError(f'colt.distill: the student\'s neck output {tuple(student.shape)} '
                         f'differs from the teacher\'s {tuple(teacher.shape)}: distillation '
                         f'needs the neck outputs of equal width')
    return teacher
