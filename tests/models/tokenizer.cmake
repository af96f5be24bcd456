# Tests of the vocabulary, tokenizer, grammar and data preparation (models/vocab, models/tokenizer,
# models/data). Included from tests/models/CMakeLists.txt.
jamd_add_test(vocab_test LABELS unit SOURCES vocab_test.cc LIBS jamd_models)
jamd_add_test(tokenizer_test LABELS unit SOURCES tokenizer_test.cc LIBS jamd_models)
jamd_add_test(tokenizer_grammar_test LABELS unit SOURCES tokenizer_grammar_test.cc LIBS jamd_models)
jamd_add_test(data_prep_test LABELS unit SOURCES data_prep_test.cc LIBS jamd_data_prep)
# Real corpora from ../shared/data (unpacked into a temporary folder at test time).
jamd_add_test(data_corpus_test LABELS integration SOURCES data_corpus_test.cc LIBS jamd_data_prep)
target_compile_definitions(data_corpus_test PRIVATE
  JAMD_SHARED_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data")
# jamd-prepare end to end on a few songs of each corpus.
jamd_add_test(data_prepare_test LABELS integration SOURCES data_prepare_test.cc LIBS jamd_data_prep)
add_dependencies(data_prepare_test jamd-prepare)
target_compile_definitions(data_prepare_test PRIVATE
  JAMD_SHARED_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data"
  JAMD_PREPARE_PATH="$<TARGET_FILE:jamd-prepare>")
jamd_add_test(tokenizer_harmony_test LABELS unit SOURCES tokenizer_harmony_test.cc LIBS jamd_models)
