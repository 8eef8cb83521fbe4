# The Debian package (`make package`, CPack DEB): what `cmake --install` puts where on a Debian
# server, and the control data. Only the `simpul` binary and its files are installed; tests,
# benchmarks and the stand-ins never are.
include(GNUInstallDirs)

set(SIMPUL_PACKAGE_MAINTAINER "Simpul developers <simpul-dev@example.org>"
    CACHE STRING "The package's Maintainer field")

install(TARGETS simpul RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# systemd: the unit and the system user it runs as (created by postinst with systemd-sysusers).
install(FILES config/systemd/simpul.service DESTINATION /lib/systemd/system)
install(FILES packaging/debian/sysusers.conf DESTINATION lib/sysusers.d RENAME simpul.conf)

# /etc/simpul/: only a conffile with every key and its default; `simpul init` writes simpul.json.
install(FILES config/simpul.example.json DESTINATION /etc/simpul)

# Read-only data under /usr/share/simpul: the national calendar, reference data, mappings and
# the example configs.
install(DIRECTORY config/calendars config/reference config/mappings config/examples
        DESTINATION ${CMAKE_INSTALL_DATADIR}/simpul)

# Documentation: the operator's guide and what it points to.
install(FILES docs/operations.md docs/connectors.md docs/federation.md docs/lapor.md
              docs/dashboard.md docs/reports.md config/simpul.example.json
              packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

install(FILES config/nginx/simpul.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/nginx)
install(FILES config/monitoring/simpul-alerts.yml config/monitoring/simpul-alerts.test.yml
              config/monitoring/simpul-grafana.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/monitoring)

# The man page and the changelog, compressed as Debian wants them (gzip -9n: no timestamp), and
# the bash completion the binary makes of its own command tree.
find_program(GZIP_PROGRAM gzip REQUIRED)
set(SIMPUL_PKG_DIR ${CMAKE_BINARY_DIR}/package-files)
add_custom_command(
  OUTPUT ${SIMPUL_PKG_DIR}/simpul.1.gz ${SIMPUL_PKG_DIR}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SIMPUL_PKG_DIR}
  COMMAND ${GZIP_PROGRAM} -9nc ${CMAKE_SOURCE_DIR}/packaging/simpul.1 > ${SIMPUL_PKG_DIR}/simpul.1.gz
  COMMAND ${GZIP_PROGRAM} -9nc ${CMAKE_SOURCE_DIR}/packaging/debian/changelog > ${SIMPUL_PKG_DIR}/changelog.gz
  DEPENDS packaging/simpul.1 packaging/debian/changelog
  VERBATIM)
add_custom_command(
  OUTPUT ${SIMPUL_PKG_DIR}/simpul.bash-completion
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SIMPUL_PKG_DIR}
  COMMAND $<TARGET_FILE:simpul> completion bash > ${SIMPUL_PKG_DIR}/simpul.bash-completion
  DEPENDS simpul
  VERBATIM)
add_custom_target(package_files ALL DEPENDS ${SIMPUL_PKG_DIR}/simpul.1.gz
                  ${SIMPUL_PKG_DIR}/changelog.gz ${SIMPUL_PKG_DIR}/simpul.bash-completion)
install(FILES ${SIMPUL_PKG_DIR}/simpul.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${SIMPUL_PKG_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${SIMPUL_PKG_DIR}/simpul.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME simpul)

# The control data. Dependencies are computed from the binary (dpkg-shlibdeps); systemd for
# systemd-sysusers in postinst.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME simpul)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT ${SIMPUL_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SIMPUL_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "federation gateway for SP4N-LAPOR! complaint channels")
set(CPACK_PACKAGE_DESCRIPTION
    "A Simpul node runs per region of Indonesia's national public-service
complaint system. It takes complaints in from legacy local channels
(webhooks, legacy databases, exports), stores them durably and syncs them
both ways with the tier above: a provincial node or the national hub.
It runs as a hardened systemd service; simpul init writes a first config.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
file(WRITE ${CMAKE_BINARY_DIR}/package-files/conffiles "/etc/simpul/simpul.example.json\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/package-files/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
include(CPack)
