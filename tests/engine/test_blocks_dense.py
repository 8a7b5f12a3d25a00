import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import check_block


@settings(max_examples=40, deadline=None)
@given(f=st.integers(1, 64), out=st.integers(1, 64), bias=st.booleans(), seq=st.booleans())
def test_linear_matches_torch(f, out, bias, seq):
    shape = (3, f) if seq else (f,)
    check_block("Linear", {"out_features": out, "bias": bias}, [TensorSpec(shape)])


@settings(max_examples=30, deadline=None)
@given(vocab=st.integers(1, 100), dim=st.integers(1, 32), length=st.integers(1, 10))
def test_embedding_matches_torch(vocab, dim, length):
    check_block("Embedding", {"embedding_dim": dim}, [TensorSpec((length,), "long", vocab)])


def test_linear_on_image_asks_for_flatten():
    with pytest.raises(ShapeError, match="insert Flatten"):
        check_block("Linear", {"out_features": 10}, [TensorSpec((16, 5, 5))])


def test_linear_on_token_ids_asks_for_embedding():
    with pytest.raises(ShapeError, match="Embedding"):
        check_block("Linear", {"out_features": 10}, [TensorSpec((8,), "long", 20)])
