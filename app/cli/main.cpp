#include "app/cli/cli.h"

int main(int argc, char** argv) { return larimar::cli::run(argc, argv); }
