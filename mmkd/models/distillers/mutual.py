"""Deep mutual learning (Zhang et al., "Deep Mutual Learning", CVPR 2018, arXiv:1706.00384): two
or more students trained together from scratch, each distilling its peers' predictions; no
pre-trained teacher."""
from contextlib import contextmanager

from mmdet.models.utils import unpack_gt_instances
from mmengine.optim import OptimWrapperDict

from mmkd.registry import MODELS
from mmkd.structures import label_maps
from mmkd.utils.errors import UnknownNameError, did_you_mean
from .base import KDTermsModel
from .build import build_model, model_config, task_scope
from .capture import Capture
from .head_rows import dense_head, dense_rows
from .teacher import normalisation_of
from .vocabulary import MUTUAL


@MODELS.register_module()
class MutualLearningDistiller(KDTermsModel):
    """Trains mmdet detectors or mmseg segmentors as peers: each minimises its own task loss plus
    its KD terms against every other member's prediction, detached (Eqn. 1-2 of the paper with
    the KL of each peer, averaged over the peers when there are more than two).

    In the vocabulary below, ``s_`` is the member whose loss is computed and ``t_`` one of its
    peers (detached), so the logit losses written for a teacher (``LogitKDLoss``,
    ``PixelWiseKDLoss``) serve unchanged. A step runs every member once: its own ``loss()``,
    whose head outputs forward hooks keep; then the terms. Losses are logged per member:
    ``<member>.loss_cls``, ``<member>.loss_kd_<term>``.

    The members are child modules of this model under their own names, so checkpoints hold
    ``<member>.*``; ``predict()`` is the ``predicting`` member's (the first by default), and
    ``mmkd.MutualValLoop`` validates every member in turn. ``tools/test.py`` and
    ``tools/export_student.py`` take ``--member NAME``.

    Args:
        students (dict): ``{name: model dict or config path}``, at least two; the members may
            differ in architecture but must predict the same outputs (anchors and classes for
            detection, classes for segmentation) and normalise their input the same way.
        kd_terms (dict): as in :class:`BaseDistiller`, on the vocabulary below.
        data_preprocessor: defaults to the first member's.
        nonfinite (str): ``'raise'`` or ``'skip'``, see :class:`BaseDistiller`.

    Example::

        model = dict(
            type='mmkd.MutualLearningDistiller',
            students=dict(student1='configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py',
                          student2='configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py'),
            kd_terms=dict(cls_pos=dict(
                loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9),
                inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos'])))
        val_cfg = dict(type='mmkd.MutualValLoop')
    """

    TABLE = MUTUAL

    def __init__(self, students, kd_terms=None, data_preprocessor=None, init_cfg=None,
                 nonfinite='raise'):
        if not isinstance(students, dict) or len(students) < 2:
            raise ValueError('model.students must name at least two members, e.g. '
                             "dict(student1='a.py', student2='b.py'); got "
                             f'{type(students).__name__} {students!r:.200}.')
        default_scope = task_scope()
        built = {}
        for name, spec in students.items():
            if not name.isidentifier():
                raise ValueError(f'model.students: {name!r} is not a valid member name; use a '
                                 'Python identifier such as student1.')
            cfg, scope = model_config(spec, f'model.students.{name}', default_scope)
            built[name] = (build_model(cfg, scope), cfg)
        first = next(iter(built.values()))[0]
        super().__init__(data_preprocessor=data_preprocessor or first.data_preprocessor,
                         init_cfg=init_cfg)
        self.member_names = list(built)
        self.member_cfgs = {name: cfg for name, (_, cfg) in built.items()}
        self.task = self._task_of(built)
        self._check_normalisation(built)
        self._init_terms(kd_terms, nonfinite)
        other = 'segmentation' if self.task == 'detection' else 'detection'
        wrong = sorted(n for n in self.needs if other in self.TABLE[n].stages)
        if wrong:
            raise ValueError(f'model.kd_terms read {wrong}, which {self.task} members do not '
                             'give; see the vocabulary:\n' + self.vocabulary_help())
        #: the member ``predict()`` / ``val_step()`` run
        self.predicting = self.member_names[0]
        self.capture = Capture()
        for name, (model, _) in built.items():
            if hasattr(self, name):
                raise ValueError(f'model.students: {name!r} is taken by the distiller itself; '
                                 'choose another member name.')
            self.add_module(name, model)
            self._watch(name)

    # ----------------------------------------------------------------- members
    def member(self, name):
        return getattr(self, name)

    @staticmethod
    def _task_of(built):
        tasks = {}
        for name, (model, _) in built.items():
            if hasattr(model, 'decode_head'):
                tasks[name] = 'segmentation'
            elif hasattr(model, 'bbox_head') or hasattr(model, 'rpn_head'):
                tasks[name] = 'detection'
            else:
                raise ValueError(f'model.students.{name}: {type(model).__name__} is neither an '
                                 'mmdet detector nor an mmseg EncoderDecoder.')
        if len(set(tasks.values())) > 1:
            raise ValueError(f'model.students mixes tasks: {tasks}; members learn from each '
                             "other's predictions, so they must solve the same task.")
        return next(iter(tasks.values()))

    @staticmethod
    def _check_normalisation(built):
        def norm(model):
            return normalisation_of(model.data_preprocessor)
        (first, (model, _)), *rest = built.items()
        for name, (other, _) in rest:
            if norm(other) != norm(model):
                raise ValueError(f'model.students.{name} normalises its input (mean, std, '
                                 f'BGR->RGB {norm(other)}) differently from {first} '
                                 f'({norm(model)}); the members share one batch: give them the '
                                 'same data_preprocessor.')

    def _watch(self, name):
        """A forward hook (:class:`Capture`), active only while this member's loss runs, on the
        module whose output the terms read."""
        model = self.member(name)
        if self.task == 'detection':
            module = dense_head(model, f'member {name}')
        else:
            module = model.decode_head.conv_seg
        self.capture.keep(module, name, when=lambda member: member == name)

    @contextmanager
    def predicting_with(self, name):
        """``predict()`` runs member ``name`` inside."""
        if name not in self.member_names:
            raise UnknownNameError(f'no member {name!r}.{did_you_mean(name, self.member_names)} '
                                   f'The members are {self.member_names}.')
        before, self.predicting = self.predicting, name
        try:
            yield
        finally:
            self.predicting = before

    def student_parameters(self):
        return (p for name in self.member_names for p in self.member(name).parameters())

    # ----------------------------------------------------------------- one step
    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.member(self.predicting)(inputs, data_samples, mode)

    def loss(self, inputs, data_samples):
        """Every member's task losses and KD terms, keys prefixed ``<member>.``."""
        losses, outputs = {}, {}
        for name in self.member_names:
            with self.capture(name) as captured:
                own = self.member(name).loss(inputs, data_samples)
            outputs[name] = captured[name]
            losses.update({f'{name}.{k}': v for k, v in own.items()})
        active = self.active_terms()
        if not active:
            return losses
        shared = self._shared_knowledge(inputs, data_samples)
        for name in self.member_names:
            own = self._own_knowledge(name, outputs[name], shared, data_samples)
            per_peer = [dict(own, **self._peer_knowledge(outputs[peer]))
                        for peer in self.member_names if peer != name]
            for term in active:
                total = sum(self.kd_terms[term](knowledge) for knowledge in per_peer)
                losses[f'{name}.loss_kd_{term}'] = total / len(per_peer)
        return losses

    def _shared_knowledge(self, inputs, data_samples):
        knowledge = dict(img=inputs)
        if self.wants.gt:
            head = self.member(self.member_names[0]).decode_head
            knowledge['valid_mask'] = label_maps(data_samples, head.ignore_index)[1]
        return knowledge

    def _own_knowledge(self, name, output, shared, data_samples):
        knowledge = dict(shared)
        if self.task == 'segmentation':
            knowledge['s_logits'] = output
            return knowledge
        knowledge['s_cls_scores'] = output[0]
        if self.wants.targets:
            gt_instances, _, img_metas = unpack_gt_instances(data_samples)
            head = dense_head(self.member(name), f'member {name}')
            rows = dense_rows(head, None, output[:2], None, gt_instances, img_metas,
                              wants={'pos_mask', 'num_pos'})
            knowledge.update(pos_mask=rows['pos_mask'], num_pos=rows['num_pos'])
        return knowledge

    def _peer_knowledge(self, output):
        if self.task == 'segmentation':
            return dict(t_logits=output.detach())
        return dict(t_cls_scores=[c.detach() for c in output[0]])

    def train_step(self, data, optim_wrapper, ddp=None):
        """One step of every member. A plain optim wrapper steps them together; an
        ``OptimWrapperDict`` (``mmkd.MultiOptimWrapperConstructor`` keyed by member names) gives
        each member its own optimizer, gradient clipping and schedule. Either way a member's
        gradient comes only from its own losses: the peers' predictions are detached."""
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper, ddp)
        missing = sorted(set(self.member_names) - set(optim_wrapper.keys()))
        if missing:
            raise UnknownNameError(f'optim_wrapper has {sorted(optim_wrapper.keys())}, missing '
                                   f'members {missing}: give every member its optimizer.')
        first = optim_wrapper[self.member_names[0]]
        return self.joint_step(data, first, list(optim_wrapper.values()), ddp, 'the members')[0]
