# Tests of the vocabulary, tokenizer, grammar and data preparation (models/vocab, models/tokenizer,
# models/data). Included from tests/models/CMakeLists.txt.
jamd_add_test(vocab_test LABELS unit SOURCES vocab_test.cc LIBS jamd_models)
jamd_add_test(tokenizer_test LABELS unit SOURCES tokenizer_test.cc LIBS jamd_models)
jamd_add_test(tokenizer_grammar_test LABELS unit SOURCES tokenizer_grammar_test.cc LIBS jamd_models)
