# The live view's page (web/ at the top of the tree) embedded in hotlined at build time: no web
# root to install, and the page always matches the daemon serving it. Included by
# daemon/CMakeLists.txt. Editing a file of web/ regenerates web_assets_data.cc; adding or removing
# one re-runs CMake (CONFIGURE_DEPENDS).
file(GLOB HOTLINE_WEB_FILES CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/web
     ${PROJECT_SOURCE_DIR}/web/*.html ${PROJECT_SOURCE_DIR}/web/*.js ${PROJECT_SOURCE_DIR}/web/*.css
     ${PROJECT_SOURCE_DIR}/web/*.svg)
list(SORT HOTLINE_WEB_FILES)
list(TRANSFORM HOTLINE_WEB_FILES PREPEND ${PROJECT_SOURCE_DIR}/web/ OUTPUT_VARIABLE HOTLINE_WEB_PATHS)
set(HOTLINE_WEB_DATA ${CMAKE_CURRENT_BINARY_DIR}/web_assets_data.cc)
add_custom_command(
  OUTPUT ${HOTLINE_WEB_DATA}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${PROJECT_SOURCE_DIR}/web -DOUTPUT=${HOTLINE_WEB_DATA}
          "-DFILES=${HOTLINE_WEB_FILES}" -P ${CMAKE_CURRENT_SOURCE_DIR}/embed_web_assets.cmake
  DEPENDS ${HOTLINE_WEB_PATHS} ${CMAKE_CURRENT_SOURCE_DIR}/embed_web_assets.cmake
  COMMENT "Embedding web/ in hotlined"
  VERBATIM)

# Generated code: built without the warning flags.
add_library(hotline_web_assets_data STATIC ${HOTLINE_WEB_DATA})
target_include_directories(hotline_web_assets_data PRIVATE ${PROJECT_SOURCE_DIR})

target_sources(hotline_daemon PRIVATE web.cc web_assets.cc)
target_link_libraries(hotline_daemon PRIVATE hotline_web_assets_data)
