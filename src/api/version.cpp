#include "qtune/version.h"

namespace qtune {

const char *version() {
  return QTUNE_VERSION_STRING;
}

} // namespace qtune
