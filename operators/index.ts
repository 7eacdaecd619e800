export { VERSION } from '../src/index.ts';
