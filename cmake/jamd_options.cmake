# Warnings, sanitizers and the asserts that stay on in release builds, for project code only.

# Asserts are how bugs abort (STYLE.md): keep them in every build type.
foreach(cfg RELEASE RELWITHDEBINFO MINSIZEREL)
  string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_${cfg} "${CMAKE_CXX_FLAGS_${cfg}}")
  string(REPLACE "-DNDEBUG" "" CMAKE_C_FLAGS_${cfg} "${CMAKE_C_FLAGS_${cfg}}")
endforeach()

add_library(jamd_warnings INTERFACE)
target_compile_options(jamd_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough>)
if(JAMD_WERROR)
  target_compile_options(jamd_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()

if(JAMD_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(JAMD_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT JAMD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "JAMD_SANITIZE must be '', 'address' or 'thread', not '${JAMD_SANITIZE}'")
endif()

# jamd_target_defaults(target): the project's warnings and include root for one of our targets.
function(jamd_target_defaults target)
  target_link_libraries(${target} PRIVATE jamd_warnings)
endfunction()
