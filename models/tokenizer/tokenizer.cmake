# The vocabulary, score, tokenizer and grammar (models/vocab/, models/tokenizer/), compiled into
# jamd_models, and the data-prep tool jamd-prepare (models/data/). Included by models/CMakeLists.txt.
target_sources(jamd_models PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../vocab/vocabulary.cc
  ${CMAKE_CURRENT_LIST_DIR}/score.cc
  ${CMAKE_CURRENT_LIST_DIR}/grammar.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/controls.cc
  ${CMAKE_CURRENT_LIST_DIR}/harmony.cc
)
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../data ${CMAKE_CURRENT_BINARY_DIR}/data)
