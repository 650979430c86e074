"""What each learner of the sample class handed in for the Transformer encoder-decoder
(see 15_encoder_decoder.py)."""

LEARNERS = {
    "ada": {"solve": "all"},
    "ben": {"solve": ["Encoder", "Decoder", "PositionalEncoding"]},
    "cy": {
        "solve": "all",
        "edit": {
            "EncoderDecoder": [
                ("x = self.src_embed(src) * math.sqrt(self.d_model)", "x = self.src_embed(src)"),
                ("y = self.tgt_embed(tgt) * math.sqrt(self.d_model)", "y = self.tgt_embed(tgt)"),
            ]
        },
    },
    "dee": {"solve": []},
    "eli": {"corrupt": True},
}
