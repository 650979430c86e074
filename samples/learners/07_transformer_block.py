"""What each learner of the sample class handed in for sprint 07 (see 15_encoder_decoder.py)."""

LEARNERS = {
    "ada": {"solve": "all"},
    "ben": {
        "solve": [
            "scaled_dot_product_attention",
            "make_padding_mask",
            "make_causal_mask",
            "make_target_mask",
            "PositionwiseFeedForward",
        ]
    },
    "cy": {
        "solve": "all",
        "edit": {
            "MultiHeadAttention": [
                (
                    "return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)",
                    "return x.reshape(B, self.n_heads, T, self.d_k)",
                )
            ]
        },
    },
    "dee": {"solve": []},
    "eli": {"corrupt": True},
}
