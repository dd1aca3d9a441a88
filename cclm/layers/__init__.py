"""Keras layers of cclm, each registered for Keras serialization."""

from cclm.preprocessing.character_encoder import CharacterEncoder
from cclm.layers.downsampling_transformer import DownsamplingTransformer
from cclm.layers.global_broadcast import GlobalBroadcast
from cclm.layers.hashed_ngram_embedding import HashedNgramEmbedding
from cclm.layers.labelled_softmax import LabelledSoftmax
from cclm.layers.leading_ids import LeadingIds
from cclm.layers.logit_bias import LogitBias
from cclm.layers.ngram_logits import NgramLogits
from cclm.layers.position_embedding import PositionEmbedding
from cclm.layers.residual_conv_block import ResidualConvBlock
from cclm.layers.sequence_pooling import SequencePooling
from cclm.layers.shifted_views import ShiftedViews
from cclm.layers.transformer_block import TransformerBlock
from cclm.layers.word_ngrams import WordNgramBag
import cclm.keras_objects as keras_objects

__all__ = [
    "CharacterEncoder",
    "DownsamplingTransformer",
    "GlobalBroadcast",
    "HashedNgramEmbedding",
    "LabelledSoftmax",
    "LeadingIds",
    "LogitBias",
    "NgramLogits",
    "PositionEmbedding",
    "ResidualConvBlock",
    "SequencePooling",
    "ShiftedViews",
    "TransformerBlock",
    "WordNgramBag",
]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
