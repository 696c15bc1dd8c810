// The chaja binary: everything is in chaja_agent; this only hands over the arguments.
#include "agent/cli.h"

int main(int argc, char** argv) {
  return chaja::run_cli(argc, argv);
}
