"""DistillHook: the final training learns from the dense parent's FPN features (PKD) and,
optionally, its RoI head's class logits (KL)."""
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


def logit_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0
             ) -> torch.Tensor:
    """KL(teacher || student) of the class distributions at ``temperature``, times its square
    (Hinton et al. 2015: the gradients keep their scale), averaged over the rows (RoIs)."""
    t = temperature
    log_s = torch.nn.functional.log_softmax(student / t, dim=-1)
    log_t = torch.nn.functional.log_softmax(teacher / t, dim=-1)
    return torch.nn.functional.kl_div(log_s, log_t, log_target=True,
                                      reduction='batchmean') * t * t


@HOOKS.register_module()
class DistillHook(Hook):
    """Adds ``fpn_weight`` x the PKD loss between the student's and the teacher's neck outputs
    (every level) to the detector's training loss (``loss_distill``) and, with
    ``logit_weight`` > 0 on a two-stage detector, ``logit_weight`` x the KL divergence between
    the teacher's and the student's RoI class logits on the student's own sampled RoIs
    (``loss_distill_logits``: the teacher's box head runs on its own features at those RoIs).

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
        logit_weight (float): the weight of the KL loss on the RoI class logits (0: none).
        temperature (float): the softmax temperature of that KL loss.
    """

    priority = 'NORMAL'

    def __init__(self, teacher: str, fpn_weight: float = 6.0, logit_weight: float = 0.0,
                 temperature: float = 1.0) -> None:
        self.teacher_path = teacher
        self.fpn_weight = float(fpn_weight)
        self.logit_weight = float(logit_weight)
        self.temperature = float(temperature)
        self._patched = []  # (object, attribute name) set on instances, removed after training

    def before_train(self, runner) -> None:
        student = unwrap(runner.model)
        teacher = load_teacher(runner, self.teacher_path, student)  # held by the closures only
        loss, extract = student.loss, student.extract_feat
        captured = {}
        logits = self.logit_weight > 0
        if logits and getattr(student, 'roi_head', None) is None:
            raise ValueError('colt.distill.logit_weight distils a RoI head\'s class logits: '
                             'this detector has none (set logit_weight=0)')
        if logits:
            bbox_forward = student.roi_head._bbox_forward

            def captured_bbox_forward(x, rois):
                out = bbox_forward(x, rois)
                if student.training:  # the training loss's RoIs (not a validation pass)
                    captured.setdefault('rois', []).append((rois, out['cls_score']))
                return out
            self._patch(student.roi_head, '_bbox_forward', captured_bbox_forward)

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
                if captured.get('rois'):
                    with torch.no_grad():
                        want = [teacher.roi_head._bbox_forward(target, r)['cls_score']
                                for r, _ in captured['rois']]
                    losses['loss_distill_logits'] = self.logit_weight * sum(
                        logit_kl(s, t, self.temperature)
                        for (_, s), t in zip(captured['rois'], want))
            captured.clear()
            return losses
        # instance attributes: the classes stay as they are
        self._patch(student, 'extract_feat', extract_feat)
        self._patch(student, 'loss', distilled_loss)

    def _patch(self, obj, name: str, fn) -> None:
        setattr(obj, name, fn)
        self._patched.append((obj, name))

    def after_train(self, runner) -> None:
        self._release()

    def _release(self) -> None:
        for obj, name in self._patched:
            obj.__dict__.pop(name, None)
        self._patched = []


def _same_shape(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    if student.shape != teacher.shape:
        raise ValueError(f'colt.distill: the student\'s neck output {tuple(student.shape)} '
                         f'differs from the teacher\'s {tuple(teacher.shape)}: distillation '
                         f'needs the neck outputs of equal width')
    return teacher
