echo sft
