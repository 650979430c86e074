"""What each learner of the sample class handed in for notebook 15.

`solve` lists the stubs the learner filled with working code ("all" for every one);
`edit` changes that code by (old, new) text replacements, to plant a learner's bug;
`corrupt` hands in a file that is not even valid JSON.
"""

LEARNERS = {
    "ada": {"solve": "all"},
    "ben": {"solve": ["cell_step", "encoder_forward", "cross_entropy"]},
    "cy": {
        "solve": "all",
        "edit": {"cell_step": [("i, f, g, o = np.split", "i, f, o, g = np.split")]},
    },
    "dee": {"solve": []},
    "eli": {"corrupt": True},
}
