// Lint config: typescript-eslint's recommended rules on all sources.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'scratch/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The isomorphic core must not reach for Node or DOM APIs: it runs in the browser too.
    files: ['src/core/**/*.ts', 'src/client/**/*.ts', 'src/eval/*.ts', 'src/eval/datasets/xml.ts', 'src/eval/datasets/yaml.ts'],
    languageOptions: { globals: { ...globals['shared-node-browser'] } },
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'os', 'sharp', 'onnxruntime-*'] }],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'document', 'window', '__dirname'],
    },
  },
  {
    // The demo page runs in the browser only; it reaches the server through tearless/client.
    files: ['web/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'os', 'sharp', 'onnxruntime-*'] }],
      'no-restricted-globals': ['error', 'Buffer', 'process', '__dirname', 'require'],
    },
  },
);
