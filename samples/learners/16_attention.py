"""What each learner of the sample class handed in for notebook 16 (see 15_encoder_decoder.py)."""

LEARNERS = {
    "ada": {"solve": "all"},
    "ben": {"solve": ["encoder_states", "dot_product_attention"]},
    "cy": {
        "solve": "all",
        "edit": {
            "dot_product_attention": [("keys @ query / np.sqrt(len(query))", "keys @ query")]
        },
    },
    "dee": {"solve": []},
    "eli": {"corrupt": True},
}
