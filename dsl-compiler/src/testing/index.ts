// Test and bench helpers; not part of the compiler's main entry.
export { braidDag, randomDag, seededRandom, specForDag } from "./random-specs.ts";
