import { VERSION } from 'kafkarx';
import pkg from '../../package.json' with { type: 'json' };
test('VERSION matches package.json', () => { expect(VERSION).toBe(pkg.version); });
